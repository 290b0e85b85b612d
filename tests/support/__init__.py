"""What tests and benchmarks share, importable without pytest: real Unix users for the lab service's tests
(users.py), a classroom made and removed around a test (classroom.py), a JupyterHub client that logs in and
runs cells as a browser would (hubclient.py), what a lab leaves on the host (census.py), and the import
contract that keeps halab's modules free of import circles (acyclic.py, run by lint-imports)."""
