// The Flex Consumption plan and Function App (Linux, Python), its app settings, and optional App
// Service Authentication for Polysync's service principals.
param name string
param planName string
param location string
param tags object
param pythonVersion string
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param jobDefinitionsTable string
param applicationInsightsName string
param appSubnetId string
param openAiAccountName string
param openAiEndpoint string
param openAiSubscriptionId string
param openAiResourceGroupName string
param discoverySchedule string
param publicBaseUrl string
@secure()
param statusLinkSecret string
param maxRequestBytes int
param perInstanceConcurrency int
param instanceMemoryMB int
param maximumInstanceCount int
param polysyncClientIds array
param authClientId string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Every setting the app reads that a deployment sets (shared/settings.py, and DISCOVERY_SCHEDULE
// of the timer binding), and the platform's own (AzureWebJobsStorage__*, APPLICATIONINSIGHTS_*,
// FUNCTIONS_*, PYTHON_*): tests/infra checks these names against the app.
var coreSettings = [
  // The host's storage, with the app's identity (shared-key access is off).
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
  // The host's diagnostic events, and the app's job registry.
  { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
  { name: 'JOB_DEFINITIONS_TABLE', value: jobDefinitionsTable }
  // Telemetry with the identity's Entra token (the component has local auth off).
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
  // The app configures its own OpenTelemetry pipeline on first use (shared/telemetry/pipeline.py):
  // the Python worker must not configure a second one. With it off, the host keeps forwarding the
  // worker's logs, which the app does not export.
  { name: 'PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY', value: 'false' }
  // The identity for Azure OpenAI and ARM (azure-identity's ManagedIdentityCredential).
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  // The Azure OpenAI resource: its name, endpoint, and where discovery lists its deployments.
  { name: 'AZURE_OPENAI_ACCOUNT', value: openAiAccountName }
  { name: 'AZURE_OPENAI_ENDPOINT', value: openAiEndpoint }
  { name: 'AZURE_SUBSCRIPTION_ID', value: openAiSubscriptionId }
  { name: 'AZURE_RESOURCE_GROUP', value: openAiResourceGroupName }
  { name: 'AZURE_RESOURCE_MANAGER_ENDPOINT', value: environment().resourceManager }
  { name: 'DISCOVERY_SCHEDULE', value: discoverySchedule }
  { name: 'STATUS_LINK_SECRET', value: statusLinkSecret }
  { name: 'REQUIRE_REGISTERED_JOBS', value: 'true' }
  // One limit, read twice: the host refuses a larger body before the app reads it.
  { name: 'MAX_REQUEST_BYTES', value: string(maxRequestBytes) }
  { name: 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT', value: string(maxRequestBytes) }
  // One worker thread per run in flight: as many as Flex sends the instance at once.
  { name: 'PYTHON_THREADPOOL_THREAD_COUNT', value: string(perInstanceConcurrency) }
]
// Only when given: without it the app links to https://{WEBSITE_HOSTNAME}, which the platform sets.
var publicBaseUrlSetting = empty(publicBaseUrl) ? [] : [{ name: 'PUBLIC_BASE_URL', value: publicBaseUrl }]
var appSettings = concat(coreSettings, publicBaseUrlSetting)
var authEnabled = !empty(polysyncClientIds)
// Tokens Entra ID issued to one of Polysync's service principals (client credentials) for this
// app's registration: its client id or App ID URI as the audience.
var entraProvider = {
  azureActiveDirectory: {
    enabled: true
    registration: {
      clientId: authClientId
      openIdIssuer: 'https://sts.windows.net/${tenant().tenantId}/v2.0'
    }
    validation: {
      allowedAudiences: ['api://${authClientId}', authClientId]
      defaultAuthorizationPolicy: { allowedApplications: polysyncClientIds }
    }
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Flex Consumption zone redundancy exists in some regions only and needs always-ready instances; off, as in the quickstart
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17:Polysync authenticates with a function key or an Entra token (auth below), not a client certificate
  // checkov:skip=CKV_AZURE_222:Polysync, a SaaS, calls the app over the internet; restrict callers with access restrictions or a gateway (docs/security.md)
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero on demand; always-ready instances are a cost choice left to the operator
  // checkov:skip=CKV_AZURE_213:Flex Consumption instances come and go with demand; GET /api/health is the app's probe for external monitors
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        triggers: {
          http: { perInstanceConcurrency: perInstanceConcurrency }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }

}

// App Service Authentication, on only with polysyncClientIds: then every request but the
// anonymous health probe must carry an Entra token issued to one of Polysync's service
// principals for this app's registration (authClientId). The Functions host still checks
// function keys on function-level routes: a token does not stand in for a key
// (docs/operations.md). Always declared, so that turning it off deploys it off.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov reads every Microsoft.Web/sites/config resource as a whole site configuration (the
  // legacy authsettings shape); this one is authsettingsV2 alone, so these checks miss it:
  // checkov:skip=CKV_AZURE_13:authsettingsV2 is on (platform.enabled) with polysyncClientIds; otherwise callers present function keys
  // checkov:skip=CKV_AZURE_63:not a logging configuration; logs go to Application Insights
  // checkov:skip=CKV_AZURE_65:not a logging configuration; logs go to Application Insights
  // checkov:skip=CKV_AZURE_66:not a logging configuration; logs go to Application Insights
  // checkov:skip=CKV_AZURE_80:no .NET: a Python app
  // checkov:skip=CKV_AZURE_88:no content share: Flex Consumption keeps the package in blob storage
  // checkov:skip=CKV_AZURE_222:not the site's network configuration (see the site's own skip)
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: authEnabled }
    globalValidation: {
      requireAuthentication: authEnabled
      unauthenticatedClientAction: 'Return401'
      excludedPaths: ['/api/health']
    }
    httpSettings: { requireHttps: true }
    identityProviders: authEnabled ? entraProvider : {}
    login: { tokenStore: { enabled: false } }
  }
}

// Deployments go through Entra ID (azd, the portal): no FTP or basic-auth publishing.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
