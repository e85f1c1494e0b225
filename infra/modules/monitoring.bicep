@description('Log Analytics and workspace-based Application Insights, shared by the Functions app and the worker.')
param location string
param logAnalyticsName string
param appInsightsName string
param retentionDays int

@description('Most GB the workspace ingests a day (a runaway log loop stops costing at this); -1 is no cap.')
param dailyCapGb int = -1

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionDays
    workspaceCapping: {
      dailyQuotaGb: dailyCapGb
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Ingestion only with Entra tokens (Monitoring Metrics Publisher), never the instrumentation key.
    // https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication
    DisableLocalAuth: true
  }
}

output workspaceId string = workspace.id
output appInsightsName string = appInsights.name
