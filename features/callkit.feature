@needs-callkit
Feature: CallKit integration
  Guide 4.3.3 (Call Kit Integration, and its lifecycle diagram), with the CallKit facts of
  FACTS.md: one active UUID, every CXAction fulfilled or failed exactly once, Apple's VoIP push
  rule.

  Background:
    Given an app that integrates CallKit
    And the client is initialized as "alice"

  @guide-4.3.3 @needs-network
  Scenario: An outgoing call is dialled, then started in CallKit
    When the app dials "sip:08040408080"
    And the call reaches the platform
    Then it is accepted
    And CallKit gets CXStartCallAction
    And the CallKit action CXStartCallAction is fulfilled
    And the app gets onCallInitiated

  @guide-4.3.3 @needs-network
  Scenario: CallKit is told when the outgoing call rings and connects
    Given an outgoing call has been dialled
    When the callee's phone rings
    Then the app gets onCallRinging
    And CallKit gets reportOutgoingCallStartedConnecting
    When the callee answers
    Then the app gets onCallEstablished
    And CallKit gets reportOutgoingCallConnected

  @guide-4.3.3 @needs-network
  Scenario: An incoming call is reported to CallKit and accepted there
    When a push from "bob" is relayed
    Then the app gets onIncomingCall
    And CallKit gets reportNewIncomingCall
    When the user accepts the call in CallKit
    Then the app calls answer for CallKit
    And the CallKit action CXAnswerCallAction is fulfilled
    When the media is established
    Then the app gets onCallEstablished

  @guide-4.3.3 @needs-network
  Scenario: The user rejects an incoming call in CallKit
    Given an incoming call is ringing
    When the user rejects the call in CallKit
    Then the app calls hangup for CallKit
    And the CallKit action CXEndCallAction is fulfilled
    And the app gets onCallEnded with reason LOCAL_HANGUP

  @guide-4.3.3 @needs-network
  Scenario: The user ends an established call from the CallKit UI
    Given an outgoing call is established
    When the user ends the call in CallKit
    Then the app calls hangup for CallKit
    And the CallKit action CXEndCallAction is fulfilled
    And the app gets onCallEnded with reason LOCAL_HANGUP

  @guide-4.3.3 @needs-network
  Scenario: The remote party ends a CallKit call
    Given an incoming call is established
    When the remote party hangs up
    Then the app gets onCallEnded with reason REMOTE_HANGUP
    And CallKit gets reportCallEnded

  @guide-4.3.3 @needs-network
  Scenario: The user mutes the call in CallKit
    Given an outgoing call is established
    When the user mutes the call in CallKit
    Then the app calls mute for CallKit
    And the CallKit action CXSetMutedCallAction is fulfilled

  @guide-4.3.3 @needs-push
  Scenario: A VoIP push is reported to CallKit before its handler completes
    When a VoIP push from "bob" arrives
    Then CallKit gets voipPushReceived
    And the VoIP push is reported to CallKit before its handler completes

  @guide-4.3.3 @needs-network @needs-push
  Scenario: A VoIP push during a CallKit call is reported as a second call and ended
    Given an outgoing call is established
    When a VoIP push from "bob" arrives
    Then CallKit gets reportNewIncomingCall for a second call
    And the app gets either onMissedCall or a SYSTEM_BUSY refusal
    And CallKit gets reportCallEnded for a second call
    And the call is still ESTABLISHED

  @guide-4.3.3 @needs-push
  Scenario: A pushed call the SDK never took is ended in CallKit, with no SDK hangup needed
    When a VoIP push with a malformed payload arrives
    Then CallKit gets reportNewIncomingCall
    And the CallKit call is ended

  @guide-4.3.3 @needs-network
  Scenario: The user unmutes the call in CallKit
    Given an outgoing call is established
    When the user mutes the call in CallKit
    Then the app calls mute for CallKit
    When the user unmutes the call in CallKit
    Then the app calls unmute for CallKit
    And the CallKit action CXSetMutedCallAction is fulfilled

  @guide-4.3.3 @needs-network
  Scenario: An incoming call answered in CallKit connects, and may be reported connected
    Given an incoming call is ringing
    When the user accepts the call in CallKit
    And the media is established
    Then the app gets onCallEstablished
    And the call is still ESTABLISHED
