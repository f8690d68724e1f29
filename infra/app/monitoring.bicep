// Log Analytics and workspace-based Application Insights, both with local (key) auth off: the
// app's identity sends telemetry with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)
// and needs Monitoring Metrics Publisher on the component (rbac.bicep).
param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
    features: { disableLocalAuth: true }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

// The runs' workbook, in the component's Workbooks: tokens per deployment per day, failed runs by
// error code, throttled attempts, durations, runs and failure rate (the queries of
// infra/monitoring/queries.kql; tests/infra/test_monitoring.py keeps the two equal). A workbook's
// name is a GUID: this one derives from the component, so each deployment updates the same one.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'polysync-azure-openai-runs')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Polysync Azure OpenAI runs'
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: loadTextContent('../monitoring/workbook.json')
  }
}

output applicationInsightsName string = applicationInsights.name
