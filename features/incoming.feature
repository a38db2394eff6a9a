Feature: Incoming calls through relayed push notifications
  Guide 4.3.2 (Receive Incoming Call), 9.2 (troubleshooting incoming calls) and the missed-call
  reporting of the SDK's API docs (FACTS.md).

  Background:
    Given the client is initialized as "alice"

  @guide-4.3.2 @needs-network
  Scenario: The app answers an incoming call
    When a push from "bob" is relayed
    Then it is accepted
    And the app gets onIncomingCall
    When the app answers
    And the media is established
    Then it is accepted
    And the app gets onCallEstablished

  @guide-4.3.2 @needs-network
  Scenario: An incoming call never rings as an outgoing one
    When a push from "bob" is relayed
    Then the app gets onIncomingCall
    And the app gets no onCallRinging
    And the call is still INCOMING

  @guide-4.3.2 @needs-network
  Scenario: The app declines an incoming call
    Given an incoming call is ringing
    When the app hangs up
    Then it is accepted
    And the app gets onCallEnded with reason LOCAL_HANGUP

  @guide-4.3.2 @needs-network
  Scenario: The caller hangs up before the app answers
    Given an incoming call is ringing
    When the caller hangs up
    Then the app gets onCallEnded with reason REMOTE_HANGUP

  @guide-4.3.2 @needs-network
  Scenario: Nobody answers an incoming call
    Given an incoming call is ringing
    When nobody answers within max_ringing_duration
    Then the app gets onCallEnded with reason TIMEOUT

  @guide-4.3.2 @needs-network
  Scenario: The caller hangs up an answered call
    Given an incoming call is established
    When the caller hangs up
    Then the app gets onCallEnded with reason REMOTE_HANGUP

  @guide-4.3.2 @needs-push
  Scenario: A push for another subscriber never yields a call
    When a push for "carol" from "bob" is relayed
    Then it is refused with PAYLOAD_ERROR or INVALID_PARAMETER
    And the app gets no onIncomingCall

  @guide-4.3.2 @needs-push
  Scenario: A push with a malformed payload is refused
    When a push with a malformed payload is relayed
    Then it is refused with PAYLOAD_ERROR
    And the app gets no onIncomingCall

  @guide-4.3.2 @needs-network
  Scenario: The same push relayed twice does not yield a second call
    Given an incoming call from "bob" is ringing
    When the same push is relayed again
    Then the app gets either onMissedCall or a SYSTEM_BUSY refusal
    And the app gets no onIncomingCall
    And the call is still INCOMING

  @guide-9.2 @needs-network
  Scenario: A push for a call that is already over is a missed call
    When a push from "dave" is relayed for a call that is already over
    Then the app gets onMissedCall from "dave"
    And the app gets no onIncomingCall

  @guide-4.3.2 @needs-network
  Scenario: A push during an established call is a missed call
    Given an outgoing call is established
    When a push from "erin" is relayed
    Then the app gets either onMissedCall or a SYSTEM_BUSY refusal
    And the app gets no onIncomingCall
    And the call is still ESTABLISHED

  @guide-4.3.2 @needs-network
  Scenario: The app opens its in-call screen on onCallInitiated or onCallEstablished
    Given an incoming call is ringing
    When the app answers
    And the media is established
    Then it is accepted
    And the app gets either onCallInitiated or onCallEstablished
