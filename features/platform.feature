@needs-platform
Feature: Platform integration: the customer's endpoints and subscriber management
  Guide 5.1 (Dial Whom and push notification endpoints), 5.2 (subscriber management) and 9.3 a
  (subscriber-token errors). These run against the platform simulator.

  @guide-5.1
  Scenario: The platform asks the Dial Whom endpoint with the call's parameters
    Given the platform simulator with a Dial Whom endpoint
    When the platform asks the Dial Whom endpoint for a call from "alice" with message "order:42"
    Then the backend gets CallSid, CallFrom, CallTo and CustomField "order:42"

  @guide-5.1
  Scenario: The Dial Whom answer routes the call to a SIP subscriber
    Given the platform simulator with a Dial Whom endpoint answering "sip:bob"
    When the platform asks the Dial Whom endpoint for a call from "alice"
    Then the platform connects the call to subscriber "bob" over VoIP

  @guide-5.1
  Scenario: A Dial Whom answer other than 200 fails the call
    Given the platform simulator with a Dial Whom endpoint answering 500
    When the platform asks the Dial Whom endpoint for a call from "alice"
    Then the platform fails the call

  @guide-5.1
  Scenario: A Dial Whom answer with a PSTN number is refused
    Given the platform simulator with a Dial Whom endpoint answering "08080808080"
    When the platform asks the Dial Whom endpoint for a call from "alice"
    Then the platform fails the call because SIP and PSTN intermixing is not supported

  @guide-5.1
  Scenario: The platform pushes the call to the push endpoint
    Given the platform simulator with a push endpoint
    When the platform pushes a call for "bob"
    Then the backend gets a POST with subscriberName, payload and payloadVersion and no custom headers

  @guide-5.1
  Scenario: A push endpoint answer other than 200 is a failure
    Given the platform simulator with a push endpoint answering 503
    When the platform pushes a call for "bob"
    Then the platform treats the push as failed

  @guide-5.2
  Scenario: A subscriber is pre-provisioned
    Given the platform simulator
    When the platform provisions subscriber "bob"
    Then the subscriber request answers 207 with a result for "bob"

  @guide-5.2
  Scenario: A subscriber token is issued for a provisioned subscriber
    Given the platform simulator with subscriber "bob"
    When the platform issues a subscriber token for "bob"
    Then the token request answers 200 with a refresh token and an access token

  @guide-9.3
  Scenario Outline: Subscriber-token requests are refused with <code>
    Given the platform simulator <setup>
    When the platform issues a subscriber token for "<name>"
    Then the token request answers <code>

    Examples:
      | setup                          | name                | code |
      | with subscriber "bob"          | bad name!           | 400  |
      | with subscriber "bob"          | averyverylongname17 | 400  |
      | with wrong basic auth          | bob                 | 401  |
      | with VoIP disabled             | bob                 | 403  |
