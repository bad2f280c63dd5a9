"""Alembic environment: the URL comes from loader.migrate (DATABASE_URL), never from a file."""

from alembic import context
from sqlalchemy import create_engine

config = context.config
url = config.attributes["sqlalchemy_url"]
engine = create_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
