"""move attached files of the old stores into the one attachment store

Records and NC evidence were kept flat in ``<instance>/attachments/<sha256>``, audit
evidence in ``<instance>/audit-attachments/<aa>/<sha256>``; the one store keeps every
file as ``<QMS_ATTACHMENTS_DIR>/<aa>/<sha256>`` (qms.attachments). Moving is idempotent:
a file already in place is kept and its old copy removed; a new instance has nothing
to move.

Revision ID: g2_attachments
Revises: g1_unit_of_work
"""

import re
import shutil
from pathlib import Path

from flask import current_app

revision = "g2_attachments"
down_revision = "g1_unit_of_work"
branch_labels = None
depends_on = None

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _move(source: Path, root: Path) -> None:
    target = root / source.name[:2] / source.name
    if target.exists():
        source.unlink()  # content-addressed: the same name is the same bytes
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))


def upgrade():
    instance = Path(current_app.config["QMS_INSTANCE"])
    root = Path(current_app.config.get("QMS_ATTACHMENTS_DIR") or instance / "attachments")
    flat = instance / "attachments"
    if flat.is_dir():
        for path in sorted(flat.iterdir()):
            if path.is_file() and SHA256.match(path.name):
                _move(path, root)
    audits = instance / "audit-attachments"
    if audits.is_dir():
        for path in sorted(audits.glob("??/*")):
            if path.is_file() and SHA256.match(path.name):
                _move(path, root)
        for folder in sorted(audits.iterdir()):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        if not any(audits.iterdir()):
            audits.rmdir()


def downgrade():
    # The one store stays: the old stores cannot tell which file belonged to which.
    pass
