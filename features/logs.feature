@needs-logs
Feature: Reporting problems with the SDK's logs
  Guide 4.10: uploadLogs() triggers onUploadLogSuccess or onUploadLogFailure.

  Background:
    Given the client is initialized

  @guide-4.10 @needs-network
  Scenario: The log upload succeeds
    When the app uploads its logs
    And the log upload completes
    Then it is accepted
    And the app gets onUploadLogSuccess
    And the app gets no onUploadLogFailure

  @guide-4.10 @needs-network
  Scenario: The log upload fails
    Given log uploads will fail
    When the app uploads its logs
    Then the app gets onUploadLogFailure with error UPLOAD_LOG_FAILURE
    And the app gets no onUploadLogSuccess

  @guide-4.10 @needs-network
  Scenario: A log upload is answered exactly once
    When the app uploads its logs
    And the log upload completes
    Then the log upload is answered exactly once

  @guide-4.10 @needs-network
  Scenario: Two uploads in flight are each answered exactly once
    When the app uploads its logs
    And the app uploads its logs
    And the log upload completes
    And the log upload completes
    Then each log upload is answered exactly once

  @guide-4.10
  Scenario: An upload whose start is after its end is refused
    When the app uploads its logs with a start after its end
    Then it is refused
