"""The cold-start floor: the smallest MCPServer on the same SDK, with one trivial tool and no other import.

With `--startup-gc-off` it starts as our console script does (`cli.script`): the cyclic garbage collector off
until the server is built, then what was built frozen and the collector back on. That saves the SDK's import
as much as ours, so comparing against it shows what our own code adds, like for like."""

import gc
import sys

STARTUP_GC_OFF = "--startup-gc-off" in sys.argv[1:]
if STARTUP_GC_OFF:
    gc.disable()

from mcp.server.mcpserver import MCPServer  # noqa: E402  (after the collector is set, as in cli.script)

server = MCPServer("floor")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    if STARTUP_GC_OFF:
        gc.freeze()
        gc.enable()
    server.run("stdio")
