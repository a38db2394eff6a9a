@needs-pstn
Feature: PSTN calls on the phone
  Guide 4.8 (Handling of PSTN calls) and 4.9 (Handling of PSTN calls when Call Kit is
  Integrated).

  @guide-4.8
  Scenario: No outgoing call while a PSTN call is in progress
    Given the client is initialized
    And a PSTN call is in progress
    When the app dials "sip:08040408080"
    Then it is refused with PSTN_CALL_INPROGRESS

  @guide-4.8
  Scenario: No outgoing call while a PSTN call rings
    Given the client is initialized
    And a PSTN call is ringing
    When the app dials "sip:08040408080"
    Then it is refused with PSTN_CALL_INPROGRESS

  @guide-4.8
  Scenario: No outgoing call while the user is on a PSTN call they placed
    Given the client is initialized
    When the user places a PSTN call
    And the app dials "sip:08040408080"
    Then it is refused with PSTN_CALL_INPROGRESS

  @guide-4.8 @needs-network
  Scenario: Outgoing calls are allowed again once the PSTN call ends
    Given the client is initialized
    And a PSTN call is in progress
    When the PSTN call ends
    And the app dials "sip:08040408080"
    Then it is accepted

  @guide-4.8 @needs-network
  Scenario: An incoming VoIP call during a PSTN call is declined and reported as missed
    Given the client is initialized as "alice"
    And a PSTN call is in progress
    When a push from "bob" is relayed
    Then the app gets onMissedCall from "bob"
    And the app gets no onIncomingCall

  @guide-4.8 @needs-network
  Scenario: The VoIP call continues when the user declines the PSTN call
    Given the client is initialized
    And an outgoing call is established
    When a PSTN call lands on the phone
    And the user declines the PSTN call
    Then the app gets no onCallEnded
    And the call is still ESTABLISHED

  @guide-4.8 @needs-network
  Scenario: The VoIP call continues when the user does not respond to the PSTN call
    Given the client is initialized
    And an incoming call is established
    When a PSTN call lands on the phone
    And the PSTN call ends
    Then the app gets no onCallEnded
    And the call is still ESTABLISHED

  @guide-4.8 @needs-network
  Scenario: Accepting the PSTN call terminates the VoIP call
    Given the client is initialized
    And an outgoing call is established
    When a PSTN call lands on the phone
    And the user accepts the PSTN call
    Then the app gets onCallEnded with reason PSTN_HANGUP

  @guide-4.8 @needs-network
  Scenario: Accepting the PSTN call terminates a ringing outgoing VoIP call
    Given the client is initialized
    And an outgoing call is ringing
    When a PSTN call lands on the phone
    And the user accepts the PSTN call
    Then the app gets onCallEnded with reason PSTN_HANGUP

  @guide-4.9 @needs-callkit
  Scenario: With CallKit, no outgoing call while a PSTN call is in progress
    Given an app that integrates CallKit
    And the client is initialized
    And a PSTN call is in progress
    When the app dials "sip:08040408080"
    Then it is refused with PSTN_CALL_INPROGRESS

  @guide-4.9 @needs-callkit @needs-network
  Scenario: With CallKit, the user holds the VoIP call and accepts the PSTN call
    Given an app that integrates CallKit
    And the client is initialized
    And an outgoing call is established
    When a PSTN call lands on the phone
    And the user holds the call in CallKit
    And the user accepts the PSTN call
    Then the CallKit action CXSetHeldCallAction is fulfilled
    And the app gets no onCallEnded
    And the call is still ESTABLISHED

  @guide-4.9 @needs-callkit @needs-network
  Scenario: With CallKit, an incoming VoIP call during a PSTN call is left to CallKit
    Given an app that integrates CallKit
    And the client is initialized as "alice"
    And a PSTN call is in progress
    When a push from "bob" is relayed
    Then the app gets onIncomingCall
    And CallKit gets reportNewIncomingCall
    When the user rejects the call in CallKit
    Then the CallKit action CXEndCallAction is fulfilled
    And the app gets onCallEnded

  @guide-4.8 @needs-network
  Scenario: Each VoIP call declined during a PSTN call is its own missed call
    Given the client is initialized as "alice"
    And a PSTN call is in progress
    When a push from "bob" is relayed
    And a push from "carol" is relayed
    Then the app gets onMissedCall 2 times
    And the app gets no onIncomingCall

  @guide-4.9 @needs-callkit @needs-network
  Scenario: With CallKit, the user ends the VoIP call and accepts the PSTN call
    Given an app that integrates CallKit
    And the client is initialized
    And an outgoing call is established
    When a PSTN call lands on the phone
    And the user ends the call in CallKit
    And the user accepts the PSTN call
    Then the CallKit action CXEndCallAction is fulfilled
    And the app gets onCallEnded with reason LOCAL_HANGUP
