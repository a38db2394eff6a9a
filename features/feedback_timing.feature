@needs-feedback
Feature: Feedback is posted at the end of the call
  Guide 4.11: "reported to the exotel platform at the end of the call".

  @guide-4.11 @needs-network
  Scenario: Feedback during a call is refused
    Given the client is initialized
    And an outgoing call is established
    When the app posts feedback with rating 4
    Then it is refused

  @guide-4.11 @needs-network
  Scenario: After a missed call, feedback is still for the call before it
    Given the client is initialized as "alice"
    And a call has ended
    When a push from "dave" is relayed for a call that is already over
    Then the app gets onMissedCall from "dave"
    When the app posts feedback with rating 4
    Then it is accepted
