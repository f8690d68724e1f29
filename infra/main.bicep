// Polysync ⇄ Azure OpenAI Function App: everything `azd up` provisions (docs/operations.md).
//
// A Flex Consumption Function App (Linux, Python) running as a user-assigned managed identity;
// its storage account with shared-key access off (identity-based AzureWebJobsStorage, the job
// registry's table included); Log Analytics and Application Insights with local auth off; an
// optional VNet with private endpoints for the storage account; and the identity's role
// assignments, each at the narrowest scope. The Azure OpenAI resource already exists (in this
// or another resource group of the subscription): it is a parameter, never created here.
//
// Modelled on Azure-Samples/functions-quickstart-python-http-azd, with its Azure Verified
// Modules written out as plain resources so that `make test` (pycep, checkov) can read every
// property offline: checkov cannot fetch `br/public:` modules, and scans nothing inside them.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Region of the Function App and its resources (one that offers Flex Consumption).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group to create for the app (default: rg-{environmentName}).')
param resourceGroupName string = ''

@minLength(2)
@description('Name of the existing Azure OpenAI resource the app runs jobs on (AZURE_OPENAI_ACCOUNT).')
param openAiAccountName string

@minLength(1)
@description('Resource group of that Azure OpenAI resource, in this subscription (AZURE_RESOURCE_GROUP).')
param openAiResourceGroupName string

@description('Grant Cognitive Services OpenAI Contributor on the Azure OpenAI resource, which Batch jobs need.')
param batchJobs bool = false

@description('Put the Function App in a new VNet and reach the storage account through private endpoints only.')
param vnetEnabled bool = false

@description('NCRONTAB schedule (six fields) of the discovery timer (DISCOVERY_SCHEDULE).')
param discoverySchedule string = '0 0 * * * *'

@description('https:// origin Polysync reaches the app at, when a gateway or custom domain fronts it (PUBLIC_BASE_URL); empty: https://{default host name}.')
param publicBaseUrl string = ''

// Generated once by azd (crypto/rand, 64 letters and digits) and kept in the azd environment, so
// each `azd provision` deploys the same value: a new one would invalidate every outstanding
// status link. Without azd, pass one (`openssl rand -base64 48`).
@secure()
@minLength(32)
@description('Key that signs status links (STATUS_LINK_SECRET), at least 32 characters.')
@metadata({ azd: { type: 'generate', config: { length: 64, noSpecial: true } } })
param statusLinkSecret string

@minValue(1)
@description('Largest request body, bytes: the app\'s MAX_REQUEST_BYTES and the host\'s FUNCTIONS_REQUEST_BODY_SIZE_LIMIT.')
param maxRequestBytes int = 8388608

// A synchronous run holds one worker thread for its whole call to Azure OpenAI, so an instance
// serves as many runs at once as it has threads: both numbers are this one. 32 from `make
// bench-concurrency` (docs/operations.md#concurrency): throughput is threads / latency, a run in
// flight costs about 0.26 MiB; 32 worst-case 8 MiB bodies read at once would fill 2048 MB.
@minValue(1)
@maxValue(1000)
@description('HTTP runs one instance serves at once: Flex perInstanceConcurrency and PYTHON_THREADPOOL_THREAD_COUNT.')
param perInstanceConcurrency int = 32

@allowed([512, 2048, 4096])
@description('Memory of one Flex Consumption instance, MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most instances Flex Consumption scales out to.')
param maximumInstanceCount int = 40

@description('Comma-separated client (application) ids of Polysync\'s service principals: when set, App Service Authentication requires an Entra token from one of them.')
param polysyncClientIds string = ''

@description('Client id of the app registration that represents this Function App (the token audience); needed with polysyncClientIds.')
param authClientId string = ''

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
@description('Redundancy of the storage account (Standard_LRS where the region has no zone-redundant storage).')
param storageSkuName string = 'Standard_ZRS'

// The Python version of the project (pyproject.toml, Makefile): a test keeps them equal.
var pythonVersion = '3.11'
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-api-${resourceToken}'
var storageAccountName = 'st${resourceToken}'
var polysyncClientIdList = empty(polysyncClientIds) ? [] : split(replace(polysyncClientIds, ' ', ''), ',')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

resource openAi 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: openAiAccountName
  scope: resourceGroup(openAiResourceGroupName)
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    vnetName: 'vnet-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    skuName: storageSkuName
    vnetEnabled: vnetEnabled
    privateEndpointSubnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
    vnetId: vnetEnabled ? network.outputs.vnetId : ''
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module openAiRbac 'app/openai-rbac.bicep' = {
  name: 'openai-rbac-${resourceToken}'
  scope: resourceGroup(openAiResourceGroupName)
  params: {
    principalId: identity.outputs.principalId
    openAiAccountName: openAiAccountName
    batchJobs: batchJobs
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    pythonVersion: pythonVersion
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    jobDefinitionsTable: storage.outputs.jobDefinitionsTable
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
    openAiAccountName: openAi.name
    openAiEndpoint: 'https://${openAi.properties.customSubDomainName}.openai.azure.com'
    openAiSubscriptionId: subscription().subscriptionId
    openAiResourceGroupName: openAiResourceGroupName
    discoverySchedule: discoverySchedule
    publicBaseUrl: publicBaseUrl
    statusLinkSecret: statusLinkSecret
    maxRequestBytes: maxRequestBytes
    perInstanceConcurrency: perInstanceConcurrency
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    polysyncClientIds: polysyncClientIdList
    authClientId: authClientId
  }
  // The identity must hold its storage roles before the host starts with identity-based storage.
  dependsOn: [rbac, openAiRbac]
}

// azd keeps these in the environment (`azd env get-values`); scripts/smoke.py takes the URL.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output APP_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
