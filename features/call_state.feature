Feature: Call states and what the calling screen shows
  Guide 4.5: the Call State table (state, callback, recommended message) and the Call State
  Flow diagram (media disruption and renewal).

  Background:
    Given the client is initialized

  @guide-4.5 @needs-network
  Scenario Outline: In <state> the calling screen shows the guide's message
    Given the call is brought to <state>
    When the app reads the call state
    Then the call state is <state>
    And the calling screen shows "<message>"

    # NONE (a relayed call before onIncomingCall), ANSWERING (answer() before the media is
    # up) and ENDING (a local hangup before the far end confirms) are transient states with
    # no callback: a client that moves on at once never lets an app read them, so they are
    # not in the table below (the validator still checks every transition through them).
    Examples: the guide's 4.5 table, and ENDED from the Call State Flow diagram
      | state              | message     |
      | OUTGOING_INITIATED | Connecting  |
      | EARLY              | -           |
      | RINGING            | Ringing     |
      | CONNECTING         | Connecting  |
      | INCOMING           | Caller ID   |
      | ESTABLISHED        | Connected   |
      | MEDIA_DISRUPTED    | Reconnecting |
      | RENEWING_MEDIA     | Reconnecting |
      | ENDED              | -           |

  @guide-4.5 @needs-network
  Scenario: Media is disrupted, renewed and restored
    Given an outgoing call is established
    When RTP is lost
    Then the app gets onMediaDisrupted
    When RTP starts resuming
    Then the app gets onRenewingMedia
    When RTP is restored
    Then the app gets onCallEstablished
    And the call is still ESTABLISHED

  @guide-4.5 @needs-network
  Scenario: Media restored straight from MEDIA_DISRUPTED
    Given an outgoing call is established
    When RTP is lost
    Then the app gets onMediaDisrupted
    When RTP is restored
    Then the app gets onCallEstablished

  @guide-4.5 @needs-network
  Scenario: Media disrupted a second time after it was restored is reported again
    Given an outgoing call is established
    When RTP is lost
    Then the app gets onMediaDisrupted
    When RTP is restored
    Then the app gets onCallEstablished
    When RTP is lost
    Then the app gets onMediaDisrupted
    When RTP is restored
    Then the app gets onCallEstablished

  @guide-4.5 @needs-network
  Scenario: Media that is never restored ends the call
    Given an outgoing call is established
    When RTP is lost
    And the media is never restored
    Then the app gets onMediaDisrupted
    And the app gets onCallEnded

  @guide-4.5 @needs-network
  Scenario: Media lost again while it was renewing is reported as the guide allows
    Given an outgoing call is established
    When RTP is lost
    Then the app gets onMediaDisrupted
    When RTP starts resuming
    Then the app gets onRenewingMedia
    When RTP is lost
    Then what the app is told is judged against the guide
