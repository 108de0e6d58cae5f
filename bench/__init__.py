"""`make bench`: throughput, chain overhead, bytes fetched, import time and memory of the generated handler."""
