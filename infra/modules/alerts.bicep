@description('What operators are told about: an action group and the alerts that page it, each on a platform metric or on what the pipeline logs (docs/operations.md says what each means and what to do first).')
param location string
param baseName string
@description('Who is told: e-mail addresses of the action group; empty still creates the group, for other receivers added later.')
param emails array
param workspaceId string
param serviceBusId string
param rangeQueue string
param cosmosId string
@description('The slide events\' system topic; empty when slide events are off.')
param eventTopicId string = ''
@description('The GPU worker app; empty when it is not deployed.')
param workerAppId string = ''
param workerMaxReplicas int = 1

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${baseName}'
  location: 'Global'
  properties: {
    groupShortName: take(replace('ds-${baseName}', '-', ''), 12)
    enabled: true
    emailReceivers: [for e in emails: {
      name: e
      emailAddress: e
      useCommonAlertSchema: true
    }]
  }
}

var actions = [
  {
    actionGroupId: actionGroup.id
  }
]

// name, description, severity, scope, namespace, metric, dimension filter, aggregation, threshold.
var metricAlerts = concat([
  {
    name: 'range-dead-letters'
    description: 'Tile-range messages were dead-lettered: a range failed on every delivery or its slide could not be read. The run has ended Failed with the reason.'
    severity: 2
    scope: serviceBusId
    namespace: 'Microsoft.ServiceBus/namespaces'
    metric: 'DeadletteredMessages'
    dimensions: [
      {
        name: 'EntityName'
        operator: 'Include'
        values: [
          rangeQueue
        ]
      }
    ]
    aggregation: 'Maximum'
    threshold: 0
  }
  {
    name: 'cosmos-throttled'
    description: 'Cosmos DB answered 429 (throttled) more than 10 times in 5 minutes: run documents are written late.'
    severity: 3
    scope: cosmosId
    namespace: 'Microsoft.DocumentDB/databaseAccounts'
    metric: 'TotalRequests'
    dimensions: [
      {
        name: 'StatusCode'
        operator: 'Include'
        values: [
          '429'
        ]
      }
    ]
    aggregation: 'Total'
    threshold: 10
  }
], empty(workerAppId) ? [] : [
  {
    name: 'worker-restarts'
    description: 'A GPU worker replica restarted (its /healthz failed, or it crashed): its range went back to the queue.'
    severity: 2
    scope: workerAppId
    namespace: 'Microsoft.App/containerApps'
    metric: 'RestartCount'
    dimensions: []
    aggregation: 'Total'
    threshold: 0
    window: 'PT15M'
  }
  {
    name: 'worker-replicas-at-max'
    description: 'The GPU workers have been at their most replicas for 30 minutes: ranges wait; raise workerMaxReplicas or the GPU quota.'
    severity: 3
    scope: workerAppId
    namespace: 'Microsoft.App/containerApps'
    metric: 'Replicas'
    dimensions: []
    aggregation: 'Minimum'
    threshold: workerMaxReplicas - 1
    window: 'PT30M'
  }
], empty(eventTopicId) ? [] : [
  {
    name: 'slide-events-dead-lettered'
    description: 'Upload events Event Grid could not deliver went to the dead-letter container: their slides have no run.'
    severity: 1
    scope: eventTopicId
    namespace: 'Microsoft.EventGrid/systemTopics'
    metric: 'DeadLetteredCount'
    dimensions: []
    aggregation: 'Total'
    threshold: 0
  }
  {
    name: 'slide-events-dropped'
    description: 'Upload events were dropped by Event Grid: their slides have no run.'
    severity: 1
    scope: eventTopicId
    namespace: 'Microsoft.EventGrid/systemTopics'
    metric: 'DroppedEventCount'
    dimensions: []
    aggregation: 'Total'
    threshold: 0
  }
  {
    name: 'slide-events-delivery-failures'
    description: 'Event Grid failed to deliver upload events to the Functions app (it retries): the app is down, redeploying, or refusing the webhook.'
    severity: 2
    scope: eventTopicId
    namespace: 'Microsoft.EventGrid/systemTopics'
    metric: 'DeliveryAttemptFailCount'
    dimensions: []
    aggregation: 'Total'
    threshold: 5
  }
])

resource metric 'Microsoft.Insights/metricAlerts@2018-03-01' = [for a in metricAlerts: {
  name: '${a.name}-${baseName}'
  location: 'global'
  properties: {
    description: a.description
    severity: a.severity
    enabled: true
    scopes: [
      a.scope
    ]
    evaluationFrequency: 'PT5M'
    windowSize: a.?window ?? 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: a.metric
          metricNamespace: a.namespace
          metricName: a.metric
          dimensions: a.dimensions
          operator: 'GreaterThan'
          threshold: a.threshold
          timeAggregation: a.aggregation
        }
      ]
    }
    actions: actions
  }
}]

// Queries on what the pipeline's code logs (workspace-based Application Insights tables).
var queryAlerts = [
  {
    name: 'runs-failed'
    description: 'Runs ended Failed (SlideRunOrchestrator logs "run {RunId} failed: {Reason}"); the run document holds the reason.'
    severity: 2
    query: 'AppTraces | where Message startswith "run " and Message has " failed"'
    threshold: 0
  }
  {
    name: 'exceptions'
    description: 'The Functions app, the workers or the viewer threw: more than 5 exceptions in 15 minutes.'
    severity: 3
    query: 'AppExceptions'
    threshold: 5
  }
  {
    name: 'api-refusals'
    description: 'More than 20 HTTP calls refused with 401 or 403 in 15 minutes: an expired token, a missing app role, or someone trying.'
    severity: 3
    query: 'AppRequests | where ResultCode in ("401", "403")'
    threshold: 20
  }
]

resource query 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [for a in queryAlerts: {
  name: '${a.name}-${baseName}'
  location: location
  properties: {
    description: a.description
    severity: a.severity
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: a.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: a.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
