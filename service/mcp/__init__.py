"""The MCP sandbox server: sandboxes (any configured backend) as MCP tools, behind the service's API keys."""
