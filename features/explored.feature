@explored
Feature: Paths found by exovoice explore
  Runs `exovoice explore` found, and shrank, against the deliberately broken clients of
  bench/mutation.py where no hand-written scenario went; each is the explorer's own scenario
  (its steps are the step library's), kept so `exovoice conform` catches that fault too.

  @guide-4.2
  Scenario: A client stopped, reset and initialized again reports its initialization once
    Given an app without CallKit
    When the app stops the client
    And the app resets the client
    And the app initializes the client as "alice"
    Then what the app is told is judged against the guide

  @guide-4.5 @needs-network
  Scenario: After a reset the next answered call is established once
    Given an app without CallKit
    When the app initializes the client as "alice"
    And the app dials "sip:08040408080"
    And the app resets the client
    And the app initializes the client as "alice"
    And the app dials "sip:08040408080"
    And the callee answers
    Then what the app is told is judged against the guide

  @guide-4.3 @needs-callkit
  Scenario: A second answer of an answered call is refused
    Given an app that integrates CallKit
    When the app initializes the client as "alice"
    And a push from "bob" is relayed
    And the app answers
    And the app answers
    Then what the app is told is judged against the guide

  @guide-4.8 @needs-pstn @needs-network
  Scenario: A push during a PSTN call the user placed is declined and reported missed
    Given an app without CallKit
    When the app initializes the client again with a new token
    And the user places a PSTN call
    And a push from "bob" is relayed for a call that is already over
    Then what the app is told is judged against the guide

  @guide-4.11 @needs-feedback
  Scenario: Feedback once posted does not refuse the next feedback
    Given an app without CallKit
    When the app initializes the client as "alice"
    And the app dials "sip:08040408080"
    And the app resets the client
    And the app posts feedback with rating 3 and issue NO_ISSUE
    And the app posts feedback with rating 3 and issue NO_ISSUE
    Then what the app is told is judged against the guide

  @guide-4.2
  Scenario: The client is not stopped while a call exists
    Given an app without CallKit
    When the app initializes the client as "alice"
    And the app dials "sip:08040408080"
    And the app stops the client
    Then what the app is told is judged against the guide
