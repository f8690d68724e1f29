// The user-assigned managed identity the Function App runs as: every call to storage, Azure
// OpenAI, ARM and Application Insights uses it; the app finds it through AZURE_CLIENT_ID.
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
