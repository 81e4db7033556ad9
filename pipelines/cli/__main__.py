from pipelines.cli.app import app

app()
