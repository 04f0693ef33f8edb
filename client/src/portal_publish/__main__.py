from portal_publish.cli import run

run()
