from qms import create_app

app = create_app()
