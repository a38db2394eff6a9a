Feature: Outgoing calls
  Guide 4.3.1 (Make Outgoing Call), 4.5 (call states) and 9.1 (troubleshooting outgoing calls).

  Background:
    Given the client is initialized

  @guide-4.3.1 @needs-network
  Scenario: The callee's phone rings and the callee answers
    When the app dials "sip:08040408080"
    Then it is accepted
    When the call reaches the platform
    Then the app gets onCallInitiated
    When the callee's phone rings
    Then the app gets onCallRinging
    When the callee answers
    Then the app gets onCallEstablished

  @guide-4.3.1 @needs-network
  Scenario: Early media before ringing
    Given an outgoing call has been dialled
    When the platform sends early media
    Then the call state is EARLY
    When the callee's phone rings
    Then the app gets onCallRinging

  @guide-4.3.1 @needs-network
  Scenario: The callee answers without ringing first
    Given an outgoing call has been dialled
    When the callee answers
    Then the app gets onCallEstablished
    And the app gets no onCallRinging

  @guide-4.3.1 @needs-network
  Scenario: The callee is busy
    Given an outgoing call is ringing
    When the callee is busy
    Then the app gets onCallEnded with reason BUSY

  @guide-4.3.1 @needs-network
  Scenario: Nobody answers within max_ringing_duration
    Given an outgoing call is ringing
    When nobody answers within max_ringing_duration
    Then the app gets onCallEnded with reason TIMEOUT

  @guide-4.3.1 @needs-network
  Scenario: The callee is unreachable
    Given an outgoing call has been dialled
    When the callee is unreachable
    Then the app gets onCallEnded with reason UNREACHABLE

  @guide-4.3.1 @needs-network
  Scenario: The call fails in the network
    Given an outgoing call has been dialled
    When the call fails in the network
    Then the app gets onCallEnded with reason FAILURE

  @guide-4.3.1 @needs-network
  Scenario: The callee rejects the ringing call
    Given an outgoing call is ringing
    When the remote party hangs up
    Then the app gets onCallEnded with reason REMOTE_HANGUP

  @guide-9.1 @needs-network
  Scenario: The rate limit is exceeded
    Given an outgoing call has been dialled
    When the platform rate-limits the call
    Then the app gets onCallFailed with error CONGESTION_ERROR
    And the call state is ENDED

  @guide-4.3.1 @needs-network
  Scenario: The app cancels a ringing call
    Given an outgoing call is ringing
    When the app hangs up
    Then it is accepted
    And the app gets onCallEnded with reason LOCAL_HANGUP

  @guide-4.3.1 @needs-network
  Scenario: The app terminates an established call
    Given an outgoing call is established
    When the app hangs up
    Then it is accepted
    And the app gets onCallEnded with reason LOCAL_HANGUP

  @guide-4.5 @needs-network
  Scenario: The remote party hangs up an established call
    Given an outgoing call is established
    When the remote party hangs up
    Then the app gets onCallEnded with reason REMOTE_HANGUP

  @guide-4.7 @needs-network
  Scenario: A second dial while a call exists is refused
    Given an outgoing call is ringing
    When the app dials again
    Then it is refused with SYSTEM_BUSY

  @guide-4.3.1 @needs-network
  Scenario: After a call has ended the app can dial again
    Given a call has ended
    When the app dials again
    Then it is accepted

  @guide-4.3.1
  Scenario: An empty remote id is refused
    When the app dials an empty remote id
    Then it is refused with INVALID_DIAL_INFO or INVALID_PARAMETER

  @guide-4.3.1
  Scenario Outline: A dial message with only the allowed characters is accepted
    When the app dials with message "<message>"
    Then it is accepted

    Examples: alphanumerics, comma, colon and every kind of bracket
      | message           |
      | order42           |
      | order:42,item:7   |
      | {ref:abc}         |
      | (a)[b]{c}         |
      | ABCxyz0189        |

  @guide-4.3.1
  Scenario Outline: A dial message with any other character is refused
    When the app dials with message "<message>"
    Then it is refused with INVALID_PARAMETER or INVALID_DIAL_INFO

    Examples: characters the guide does not allow
      | message      |
      | order 42     |
      | a;b          |
      | key=value    |
      | a-b          |
      | hello!       |
      | path/to      |
      | <tag>        |

  @guide-4.3.1 @needs-network
  Scenario: Hanging up a call that is already over is refused or does nothing
    Given a call has ended
    When the app hangs up
    Then it is refused or has no effect
    And the call state is ENDED

  @guide-4.5 @needs-network
  Scenario: A call the network drops ends with onCallEnded
    Given an outgoing call is established
    When the call fails in the network
    Then the app gets onCallEnded with reason FAILURE
    And the call state is ENDED
