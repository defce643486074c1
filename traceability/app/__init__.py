"""Entry points: the ``qtrace`` command line and the Flask app."""
