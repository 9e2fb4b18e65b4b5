"""The gateway's domain: accounts, who may call what, and where each public path goes. No I/O."""
