// The app identity's roles on the existing Azure OpenAI resource, deployed into that resource's
// own resource group (main.bicep scopes this module there). Nothing here creates the resource.
param principalId string
param openAiAccountName string
param batchJobs bool

// Built-in role definitions (Azure's fixed GUIDs).
var roles = {
  // Actions Microsoft.CognitiveServices/*/read (so discovery's ARM listing,
  // Microsoft.CognitiveServices/accounts/deployments/read) and the data plane's chat
  // completions, embeddings and OpenAI/*/read (batch and file reads): no Reader role needed.
  openAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd' // Cognitive Services OpenAI User
  // DataActions Microsoft.CognitiveServices/accounts/OpenAI/*: creating batches (and files);
  // it also writes and deletes deployments, so it is granted only with batchJobs.
  openAiContributor: 'a001fd3d-188f-4b5d-821b-7da978bf7442' // Cognitive Services OpenAI Contributor
}

resource openAi 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: openAiAccountName
}

// Chat and embedding runs, batch polls, and discovery (ARM's deployments list).
resource openAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(openAi.id, principalId, roles.openAiUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.openAiUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Batch submissions (POST /openai/batches), only when the deployment runs Batch jobs.
resource openAiContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (batchJobs) {
  name: guid(openAi.id, principalId, roles.openAiContributor)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.openAiContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
