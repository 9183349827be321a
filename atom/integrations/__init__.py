"""The plugin framework: manifest, base class, IntegrationClient, registry, vault, webhooks."""
