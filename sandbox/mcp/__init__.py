"""The MCP sandbox backend: sandboxes served by a remote MCP sandbox server (`service/mcp`), reached over HTTP."""
