Feature: Call statistics and call details
  Guide 4.6 (getStatistics), 4.7 (getCallDetails: latest call only) and 9.1 a (sessionId).

  Background:
    Given the client is initialized

  @guide-4.6 @needs-network
  Scenario: Statistics during an established call
    Given an outgoing call is established
    When the app reads the call statistics
    Then the statistics report the codec and the QoS figures

  @guide-4.7 @needs-network
  Scenario: Call details of a live outgoing call
    Given an outgoing call is ringing
    When the app reads the call details
    Then the call details name the call, state RINGING and direction OUTGOING

  @guide-4.7 @needs-network
  Scenario: Call details of an incoming call
    Given an incoming call is ringing
    When the app reads the call details
    Then the call details name the call, state INCOMING and direction INCOMING

  @guide-4.7 @needs-network
  Scenario: Call details of an ended call give its end reason and duration
    Given a call has ended
    When the app reads the call details
    Then the call details name the call, state ENDED and direction OUTGOING
    And the call details give the end reason LOCAL_HANGUP
    And the call details give a call duration

  @guide-9.1 @needs-network
  Scenario: A dialled call has a session id to report to support
    Given an outgoing call has been dialled
    When the app reads the call details
    Then the call details carry a session id
