Feature: Initializing the client and keeping it authenticated
  Guide 4.2 (Initialize Library), 6 (Authentication and Authorization) and 9.3 b
  (troubleshooting onAuthenticationFailure).

  @guide-4.2 @needs-network
  Scenario: Initialization succeeds
    Given the client is not initialized
    When the app initializes the client as "alice"
    And the platform accepts the registration
    Then it is accepted
    And the app gets onInitializationSuccess

  @guide-4.2 @needs-network
  Scenario: Initialization fails
    Given the platform will fail the next registration
    When the app initializes the client as "alice"
    Then the app gets onInitializationFailure
    And the app gets no onInitializationSuccess

  @guide-6 @needs-network
  Scenario: An expired token is reported through onAuthenticationFailure
    Given the client is initialized
    When the subscriber's token expires
    Then the app gets onAuthenticationFailure with error AUTHENTICATION_EXPIRED_TOKEN

  @guide-6 @needs-network
  Scenario: An invalid token is reported through onAuthenticationFailure
    Given the client is initialized
    When the subscriber's token is revoked
    Then the app gets onAuthenticationFailure with error AUTHENTICATION_INVALID_TOKEN

  @guide-6 @needs-network
  Scenario: After an expired token the app re-initializes with a new token
    Given the client is initialized
    When the subscriber's token expires
    Then the app gets onAuthenticationFailure with error AUTHENTICATION_EXPIRED_TOKEN
    When the app initializes the client again with a new token
    And the platform accepts the registration
    Then it is accepted
    And the app gets onInitializationSuccess

  @guide-9.3 @needs-network
  Scenario: After an invalid token the app re-initializes with a new token
    Given the client is initialized
    When the subscriber's token is revoked
    Then the app gets onAuthenticationFailure with error AUTHENTICATION_INVALID_TOKEN
    When the app initializes the client again with a new token
    And the platform accepts the registration
    Then the app gets onInitializationSuccess

  @guide-6 @needs-network
  Scenario: Without a new token a call is refused or fails
    Given the client is initialized
    When the subscriber's token expires
    And the app dials "sip:08040408080"
    Then the app gets onAuthenticationFailure
    And the call attempt is refused or the call ends

  @guide-9.3 @needs-network
  Scenario: A token the platform refuses on a dial is reported with the call's end
    Given the client is initialized
    And the platform stops accepting the subscriber's token without telling the app
    When the app dials "sip:08040408080"
    Then the app gets onAuthenticationFailure with error AUTHENTICATION_EXPIRED_TOKEN
    And the app gets onCallEnded with reason FAILURE

  @guide-9.3 @needs-network @needs-push
  Scenario: A token the platform refuses on a session take is reported with the missed call
    Given the client is initialized as "alice"
    And the platform stops accepting the subscriber's token without telling the app
    When a push from "bob" is relayed
    Then the app gets onAuthenticationFailure with error AUTHENTICATION_EXPIRED_TOKEN
    And the app gets onMissedCall from "bob"
    And the app gets no onIncomingCall

  @guide-4.2 @needs-network
  Scenario: The initialization may be reported slow before it succeeds
    Given the client is not initialized
    When the app initializes the client as "alice"
    And the platform accepts the registration
    Then the app gets either onInitializationDelay or onInitializationSuccess

  @guide-4.2 @needs-network
  Scenario: Re-initializing an initialized client succeeds again
    Given the client is initialized
    When the app initializes the client again with a new token
    And the platform accepts the registration
    Then it is accepted
    And the app gets onInitializationSuccess

  @guide-9.3
  Scenario Outline: A subscriber name that is not alphanumeric or not fewer than 16 characters never initializes
    Given the client is not initialized
    When the app initializes the client as "<name>"
    Then the initialization is refused or fails

    Examples:
      | name                   |
      | al ice                 |
      | alice_01               |
      | averyverylongname17    |
      | sixteencharsname       |

  @guide-4.3
  Scenario: Dialling before initialization is refused
    Given the client is not initialized
    When the app dials "sip:08040408080"
    Then it is refused with SDK_UNINITIALIZED

  @guide-4.3.2
  Scenario: Relaying a push before initialization is refused
    Given the client is not initialized
    When a push from "bob" is relayed
    Then it is refused with SDK_UNINITIALIZED
