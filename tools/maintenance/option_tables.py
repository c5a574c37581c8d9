"""The option tables of doc/software_manual.md, generated from the apps' option definitions.

    python -m tools.maintenance.option_tables           # print the tables
    python -m tools.maintenance.option_tables --write   # replace them in doc/software_manual.md

Each table follows its heading (``### EncoderApp options`` ...) up to the next blank line; a test checks
that the manual holds exactly the generated tables, so the options have one home: their definitions.
"""
from __future__ import annotations

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MANUAL = os.path.join(ROOT, "doc", "software_manual.md")


def tables() -> dict:
    from ConverterApp.__main__ import OPTIONS as CONVERT
    from DecoderApp.__main__ import OPTIONS as DEC
    from EncoderApp.__main__ import OPTIONS as ENC
    from EvalApp.__main__ import CTC_OPTIONS, GATES_OPTIONS
    from TrainerApp.__main__ import OPTIONS as TRAIN
    return {"EncoderApp options": (ENC, True), "DecoderApp options": (DEC, True), "TrainerApp options": (TRAIN, True),
            "EvalApp ctc options": (CTC_OPTIONS, False), "EvalApp gates options": (GATES_OPTIONS, False),
            "ConverterApp options": (CONVERT, True)}


def table(options, with_short: bool) -> str:
    def default(o):
        return '`""`' if o.default == "" else f"`{o.default}`"

    def meaning(o):
        return o.help + (f" ({' / '.join(map(str, o.choices))})" if o.choices else "")
    if with_short:
        rows = ["| option | short | default | meaning |", "|---|---|---|---|"]
        rows += [f"| `{o.name}` | {f'`-{o.short}`' if o.short else ''} | {default(o)} | {meaning(o)} |" for o in options]
    else:
        rows = ["| option | default | meaning |", "|---|---|---|"]
        rows += [f"| `{o.name}` | {default(o)} | {meaning(o)} |" for o in options]
    return "\n".join(rows)


def generated() -> dict:
    return {title: table(opts, short) for title, (opts, short) in tables().items()}


def replace_in(text: str) -> str:
    for title, t in generated().items():
        pat = re.compile(rf"(### {re.escape(title)}\n\n)(\|.*?\n)(\n|$)", re.S)
        if not pat.search(text):
            raise SystemExit(f"option_tables: no table after '### {title}' in {MANUAL}")
        text = pat.sub(lambda m: m.group(1) + t + "\n" + m.group(3), text, count=1)
    return text


def main() -> int:
    if "--write" in sys.argv[1:]:
        text = open(MANUAL, encoding="utf-8").read()
        with open(MANUAL, "w", encoding="utf-8") as f:
            f.write(replace_in(text))
        print(f"option_tables: {MANUAL} updated")
    else:
        for title, t in generated().items():
            print(f"### {title}\n\n{t}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
