"""The phases of a run, in order: discover, observe, (plan: `diff.plan`), confirm, write, record,
publish. Each takes plain data and the ports it needs, and returns plain data; `service.ScanService`
only sequences them."""
