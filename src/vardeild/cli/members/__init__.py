"""`vardeild members`: the member registry's organisations, their import and export, and the
conflicts between their claims."""

from __future__ import annotations

import typer

from vardeild.cli.members import browse, edit, transfer

app = typer.Typer(
    name="members",
    help="The member registry: list, show, add, edit, remove, import, export, conflicts.",
    no_args_is_help=True,
)
app.command("list")(browse.list_members)
app.command("show")(browse.show_member)
app.command("add")(edit.add)
app.command("edit")(edit.edit)
app.command("remove")(edit.remove)
app.command("import")(transfer.import_members)
app.command("export")(transfer.export_members)
app.command("conflicts")(browse.conflicts)
