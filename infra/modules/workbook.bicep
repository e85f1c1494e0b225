@description('The operations workbook: runs by outcome, time per stage, patches/s per worker, the range queue and its dead letters, and what the logs cost. Its queries read the metrics the code emits (PipelineTelemetry: deepslide.runs, deepslide.stage.duration, deepslide.worker.patch_rate) from workspace-based Application Insights.')
param location string
param baseName string
param workspaceId string

var queries = [
  {
    title: 'Runs per hour by outcome'
    query: 'AppMetrics | where Name == "deepslide.runs" | summarize Runs = sum(Sum) by Outcome = tostring(Properties.outcome), bin(TimeGenerated, 1h) | render columnchart'
  }
  {
    title: 'Seconds per stage (mean of finished runs)'
    query: 'AppMetrics | where Name == "deepslide.stage.duration" | summarize Seconds = sum(Sum) / sum(ItemCount) by Stage = tostring(Properties.stage), bin(TimeGenerated, 1h) | render timechart'
  }
  {
    title: 'Patches/s per worker replica'
    query: 'AppMetrics | where Name == "deepslide.worker.patch_rate" | summarize PatchesPerSecond = sum(Sum) / sum(ItemCount) by Worker = AppRoleInstance, bin(TimeGenerated, 15m) | render timechart'
  }
  {
    title: 'Range queue: waiting and dead-lettered'
    query: 'AzureMetrics | where ResourceProvider == "MICROSOFT.SERVICEBUS" and MetricName in ("ActiveMessages", "DeadletteredMessages") | summarize Messages = max(Maximum) by MetricName, bin(TimeGenerated, 15m) | render timechart'
  }
  {
    title: 'Cost drivers: billable log ingestion (GB per day) and GPU inference seconds'
    query: 'Usage | where IsBillable | summarize GB = sum(Quantity) / 1000 by DataType, bin(TimeGenerated, 1d) | union (AppMetrics | where Name == "deepslide.stage.duration" and Properties.stage == "inference" | summarize InferenceSeconds = sum(Sum) by bin(TimeGenerated, 1d))'
  }
]

var items = [for (q, i) in queries: {
  type: 3
  name: 'query-${i}'
  content: {
    version: 'KqlItem/1.0'
    title: q.title
    query: q.query
    queryType: 0
    resourceType: 'microsoft.operationalinsights/workspaces'
    timeContext: {
      durationMs: 86400000
    }
  }
}]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, baseName, 'deepslide-operations')
  location: location
  kind: 'shared'
  properties: {
    displayName: 'DeepSlide operations (${baseName})'
    category: 'workbook'
    sourceId: workspaceId
    serializedData: string({
      version: 'Notebook/1.0'
      items: items
      isLocked: false
    })
  }
}

output id string = workbook.id
