"""A Jupyter notebook's code cells as a Python module (read with nbformat, never executed here).

Code cells are joined in order, each under a ``# In[k]:`` line (as ``jupyter nbconvert --to
script`` writes them). What only IPython understands is removed, each removal named in a note:
line magics (``%matplotlib inline``), shell escapes (``!pip install ...``, ``x = !ls``), help
(``f?``), and cell magics (``%%time`` keeps its body; ``%%bash`` and the other non-Python cell
magics lose the whole cell). A removed line becomes ``pass`` at the same indentation, so blocks
stay valid; ``from __future__`` imports move to the top, where Python requires them.
"""
from __future__ import annotations

import re

PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
NOTED_REMOVALS = 5
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.,\s\[\]()]+=\s*[!%]")
_HELP = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")


class NotebookError(Exception):
    """The file is not a notebook nbformat can read (one line)."""


def _ipython_only(line: str) -> bool:
    stripped = line.lstrip()
    return (stripped.startswith(("%", "!", "get_ipython()")) or bool(_ASSIGNED_MAGIC.match(line))
            or bool(_HELP.match(line)))


def _cell_lines(source: str, number: int, removed: list[str], future: list[str]) -> list[str]:
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].split()[0][2:]
        removed.append(f"{lines[0].strip()} (cell {number})")
        if magic not in PYTHON_CELL_MAGICS:
            return [f"# removed by the grader: a %%{magic} cell ({len(lines)} lines)"]
        lines = ["pass  # removed by the grader: " + lines[0].strip()] + lines[1:]
    out = []
    for line in lines:
        if line.startswith("from __future__ import"):   # valid only at the top of a module
            future.append(line)
            out.append("pass  # moved to the top by the grader: " + line.strip())
        elif _ipython_only(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}pass  # removed by the grader: {line.strip()}")
            removed.append(f"{line.strip()} (cell {number})")
        else:
            out.append(line)
    return out


def notebook_source(data: bytes) -> tuple[str, list[str]]:
    """(the Python source of the notebook `data`'s code cells, the removals made);
    raise ``NotebookError`` when it is not a notebook."""
    import nbformat   # imported on first use: most submissions hold no notebook
    try:
        notebook = nbformat.convert(nbformat.reader.reads(data.decode("utf-8-sig")), 4)
        cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    except Exception as exc:  # noqa: BLE001  (nbformat raises many kinds for a bad file)
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise NotebookError(f"not a notebook nbformat can read ({reason})") from None
    removed: list[str] = []
    future: list[str] = []
    parts = []
    for number, cell in enumerate(cells, 1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        parts.append("\n".join([f"# In[{number}]:", *_cell_lines(source, number, removed, future)]))
    return "".join(line + "\n" for line in future) + "\n\n\n".join(parts) + "\n", removed


def removal_note(removed: list[str]) -> str:
    """One line naming what the extraction removed (the first few of them)."""
    shown = ", ".join(removed[:NOTED_REMOVALS]) + (f" and {len(removed) - NOTED_REMOVALS} more"
                                                   if len(removed) > NOTED_REMOVALS else "")
    return f"removed what only IPython runs ({len(removed)} line{'s' if len(removed) != 1 else ''}): {shown}"
