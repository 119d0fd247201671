"""A spreadsheet's CSV as numbers: missing cells dropped or filled, text columns one-hot encoded.

What is learned from the data (a column's mean, median or most frequent value; a text column's categories)
is learned from the training rows only, saved with the run, and applied as it is by `eval` and `predict`.
NumPy only: nothing here imports TensorFlow.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from nnlearn.config.schema import DataConfig
from nnlearn.errors import DataError

# what spreadsheets and databases write for "no value"; compared after stripping spaces
MISSING_MARKERS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL"})
FILLS = ("mean", "median", "most_frequent")
SHOWN_LINES = 5


@dataclass
class Table:
    """A CSV's cells by column (spaces stripped), with the file line where each row starts (a row after
    blank lines, or after a quoted cell that spans lines, is named by its own line)."""

    name: str  # the file's name, for messages
    header: list[str]
    cells: dict[str, np.ndarray]  # column -> array of str (as Python objects), one per row
    lines: np.ndarray  # the file line of each row
    unit: str = "line"  # what lines count: a file's lines, or the rows typed with --row

    def __len__(self) -> int:
        return len(self.lines)

    def take(self, rows: np.ndarray) -> "Table":
        return Table(self.name, self.header, {name: column[rows] for name, column in self.cells.items()},
                     self.lines[rows], self.unit)

    def at(self, line) -> str:
        """Where a row is, for a message: `rows.csv line 7`, or `typed row 2`."""
        return f"{self.name} {self.unit} {int(line)}"

    def all_at(self, lines: np.ndarray) -> str:
        """`line 7`, or `lines 3, 7, 9 and 4 more`."""
        return f"{self.unit} {int(lines[0])}" if len(lines) == 1 else f"{self.unit}s {_lines(lines)}"


def check_header_names(header: list[str], source: str, field: str) -> None:
    """Every column needs a name of its own: a name given twice would make one column hide the other (a
    dict keeps the last), and a column without a name cannot be named in data.ignore or --row."""
    seen: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{source}: column {number} of {len(header)} has no name in the header (the first "
                            "line).", path=field,
                            hint="name it in the first line, or delete the column (a comma at the end of every "
                                 "line makes an empty one).")
        if name in seen:
            raise DataError(f"{source}: the header names {name!r} twice (columns {seen[name]} and {number}); "
                            "nnlearn would use one and silently drop the other.", path=field,
                            hint=f"give each column its own name, e.g. {name}_{number}, in the first line.")
        seen[name] = number


def missing_mask(cells: np.ndarray) -> np.ndarray:
    return np.isin(cells, list(MISSING_MARKERS))


def as_numbers(cells: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    """The cells as floats (NaN where missing), or None when some present cell is not a number."""
    present = np.where(missing, "nan", cells)
    try:
        return present.astype(np.float64)
    except ValueError:
        return None


def text_rows(cells: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """The rows whose cell is present and not a number."""
    def is_text(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return True
        return False

    return np.flatnonzero([not gap and is_text(cell) for cell, gap in zip(cells, missing)])


def _lines(lines: np.ndarray) -> str:
    shown = ", ".join(str(int(line)) for line in lines[:SHOWN_LINES])
    return shown + (f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else "")


@dataclass
class Column:
    """One feature column: number or text, what fills its missing cells, and its one-hot categories."""

    name: str
    text: bool
    missing: str  # error, drop, mean, median or most_frequent
    fill: float | str | None = None
    categories: list[str] | None = None  # one_hot: the training split's categories, sorted

    def feature_names(self) -> list[str]:
        return [f"{self.name}={category}" for category in self.categories] if self.text else [self.name]

    def positions(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's place among the training categories, and whether it is one of them (a binary
        search per cell: no rows x categories comparison is ever made)."""
        categories = np.asarray(self.categories, dtype=object)
        if not len(categories):
            return np.zeros(len(cells), dtype=np.int64), np.zeros(len(cells), dtype=bool)
        positions = np.minimum(np.searchsorted(categories, cells), len(categories) - 1)
        return positions, categories[positions] == cells


@dataclass
class Columns:
    """CSV columns → numeric features. Columns.fit learns fills and categories from training rows."""

    columns: list[Column] = field(default_factory=list)

    @property
    def feature_names(self) -> list[str]:
        return [name for column in self.columns for name in column.feature_names()]

    @property
    def changes_anything(self) -> bool:
        """False for numbers-only columns with nothing to fill: the plain CSV of before."""
        return any(column.text or column.missing in FILLS for column in self.columns)

    @classmethod
    def fit(cls, columns: list[Column], table: Table) -> "Columns":
        """Learn each column's fill value and categories from table (the training rows)."""
        fitted = []
        for column in columns:
            cells = table.cells[column.name]
            missing = missing_mask(cells)
            present = cells[~missing]
            fill, categories = None, None
            if column.text:
                categories = sorted(set(present.tolist()))
                check_categories(table, column.name, len(categories), len(present))
            if column.missing in FILLS:
                if not len(present):
                    raise DataError(f"{table.name}: column {column.name!r} has no values in the training split to "
                                    f"take the {column.missing.replace('_', ' ')} of.", path="data.source",
                                    hint=f"drop the column (data.ignore: [{column.name}]) or use more data.")
                if column.missing == "most_frequent":
                    values, counts = np.unique(present if column.text else present.astype(np.float64),
                                               return_counts=True)
                    fill = values[int(np.argmax(counts))]  # ties: the smallest, as scikit-learn's SimpleImputer
                    fill = str(fill) if column.text else float(fill)
                else:
                    numbers = present.astype(np.float64)
                    fill = float(np.mean(numbers) if column.missing == "mean" else np.median(numbers))
            fitted.append(Column(column.name, column.text, column.missing, fill, categories))
        return cls(fitted)

    def transform(self, table: Table, field_name: str = "data.source") -> np.ndarray:
        """Numeric features of every row. A category not seen in training becomes all zeros; a missing
        cell with no fill (error or drop) is a DataError naming its lines."""
        parts = []
        for column in self.columns:
            cells = table.cells[column.name]
            missing = missing_mask(cells)
            if missing.any() and column.fill is None:
                lines = table.lines[missing]
                raise DataError(f"{table.at(lines[0])}: {column.name!r} is empty (a missing value; "
                                f"{table.all_at(lines)}).", path=field_name,
                                hint=f"fill in those cells: the run was trained with missing: {column.missing} "
                                     f"for {column.name!r}, which has no value to fill them with.")
            if column.text:
                positions, known = column.positions(np.where(missing, str(column.fill), cells))
                encoded = np.zeros((len(cells), len(column.categories)))  # built in place: rows x categories
                encoded[np.flatnonzero(known), positions[known]] = 1.0
                parts.append(encoded)
                continue
            numbers = as_numbers(cells, missing)
            if numbers is None:
                index = text_rows(cells, missing)[0]
                raise DataError(f"{table.at(table.lines[index])}, column {column.name!r}: "
                                f"{cells[index]!r} is not a number.", path=field_name,
                                hint=f"{column.name!r} held numbers in training: write a number there.")
            parts.append(np.where(missing, column.fill if column.fill is not None else np.nan, numbers)[:, None])
        return np.concatenate(parts, axis=1) if parts else np.empty((len(table), 0))

    def unseen(self, table: Table, limit: int = 10) -> list[str]:
        """One warning per text column whose cells hold a category the training split never held: its
        one-hot features are all 0 there, an input the model never saw, so its answer is a guess."""
        warnings = []
        for column in self.columns:
            if not column.text:
                continue
            cells = table.cells[column.name]
            missing = missing_mask(cells)
            _, known = column.positions(np.where(missing, str(column.fill), cells))
            rows = np.flatnonzero(~known)
            if not len(rows):
                continue
            values = list(dict.fromkeys(str(value) for value in cells[rows]))
            shown = ", ".join(repr(value) for value in values[:3]) + (", ..." if len(values) > 3 else "")
            known_names = ", ".join(column.categories[:12]) + (", ..." if len(column.categories) > 12 else "")
            lower = {category.lower(): category for category in column.categories}
            cases = [f"{value!r} is {lower[value.lower()]!r} in other capitals" for value in values[:3]
                     if value.lower() in lower]
            warnings.append(f"{column.name} = {shown} ({table.all_at(table.lines[rows])}) was never seen in "
                            f"training, where {column.name} was one of: {known_names}"
                            + (f" ({'; '.join(cases)})" if cases else "") + ". Its one-hot features are all 0 "
                            "there, an input the model never saw, so its answer there is a guess.")
        return warnings[:limit]

    def to_dict(self) -> dict:
        return {"columns": [{"name": c.name, "text": c.text, "missing": c.missing, "fill": c.fill,
                             "categories": c.categories} for c in self.columns]}

    @classmethod
    def from_dict(cls, state: dict) -> "Columns":
        return cls([Column(c["name"], bool(c["text"]), c["missing"], c.get("fill"), c.get("categories"))
                    for c in state["columns"]])


MAX_CATEGORIES = 1000  # one-hot features a text column may make
IDENTIFIER_SHARE = 0.9  # a column whose values are this share of its rows (or more) tells rows apart, nothing more
IDENTIFIER_CATEGORIES = 20  # ... once it has at least this many


def check_categories(table: Table, name: str, categories: int, rows: int) -> None:
    """Refuse a text column whose one-hot encoding would be huge or mean nothing: more than MAX_CATEGORIES
    categories, or an identifier (a name, an e-mail, an order number) whose every row has its own value,
    which can only make the model learn the training rows by heart and tells it nothing about a new one."""
    identifier = categories >= IDENTIFIER_CATEGORIES and categories >= IDENTIFIER_SHARE * rows
    if categories <= MAX_CATEGORIES and not identifier:
        return
    what = (f"{categories:,} different values in {rows:,} training rows: nearly every row has its own, like an "
            "identifier (a name, an e-mail, an order number), which tells the model nothing about a new row"
            if identifier else f"{categories:,} different values, more than the {MAX_CATEGORIES:,} one-hot "
            "features nnlearn makes for one column")
    raise DataError(f"{table.name}: the text column {name!r} has {what}.", path="data.ignore",
                    hint=f"leave it out: data: {{ignore: [{name}]}} (or --set 'data.ignore=[{name}]'); or group its "
                         "values into fewer categories first.")


def check_column_names(data: DataConfig, header: list[str], source: str) -> None:
    """data.columns and data.ignore may only name columns of the file, and never the target."""
    for key, names in (("columns", list(data.columns)), ("ignore", data.ignore)):
        for name in names:
            if name not in header:
                guess = difflib.get_close_matches(name, header, n=1, cutoff=0.5)
                raise DataError(f"data.{key} names {name!r}, which is not a column of {source}. Columns: "
                                f"{', '.join(header)}.", path=f"data.{key}",
                                hint=f"did you mean {guess[0]!r}?" if guess else "use one of the column names above.")
            if name == data.target and key == "ignore":
                raise DataError(f"data.ignore names the target {name!r}: y cannot be left out.",
                                path="data.ignore", hint=f"remove {name!r} from data.ignore.")


def plan_columns(data: DataConfig, table: Table, features: list[str]) -> tuple[list[Column], np.ndarray]:
    """Each feature column's kind and settings, checked against its cells; and which rows to keep
    (those without a missing cell in a column whose setting is drop)."""
    keep = np.ones(len(table), dtype=bool)
    columns = []
    for name in features:
        settings = data.columns.get(name)
        missing_setting = (settings.missing if settings and settings.missing else data.missing)
        text_setting = (settings.text if settings and settings.text else data.text)
        cells = table.cells[name]
        missing = missing_mask(cells)
        text = as_numbers(cells, missing) is None
        where = f"data.columns.{name}" if name in data.columns else "data"
        if text and text_setting == "error":
            _refuse_text(table, name, cells, missing)
        if text and missing_setting in ("mean", "median"):
            raise DataError(f"{table.name}: column {name!r} holds text, which has no {missing_setting}.",
                            path=f"{where}.missing", hint="use missing: most_frequent or drop for a text column.")
        if missing.any():
            lines = table.lines[missing]
            if missing_setting == "error":
                cell = cells[missing][0]
                what = "empty" if cell == "" else f"{cell!r}"
                raise DataError(f"{table.at(lines[0])}: feature {name!r} is {what}: a missing value, "
                                f"not a number ({len(lines)} in column {name!r}, on {table.all_at(lines)}).",
                                path="data.source",
                                hint=f"fill in or drop those rows, or set data.missing (or data.columns.{name}."
                                     "missing) to drop, mean, median or most_frequent.")
            if missing_setting == "drop":
                keep &= ~missing
        columns.append(Column(name, text, missing_setting))
    return columns, keep


def _refuse_text(table: Table, name: str, cells: np.ndarray, missing: np.ndarray) -> None:
    """A feature column with text in it: a likely typo when almost all its cells are numbers, else a text
    column to encode or leave out."""
    rows = text_rows(cells, missing)
    first = f"{table.at(table.lines[rows[0]])}, column {name!r}: {cells[rows[0]]!r} is not a number"
    present = int((~missing).sum())
    if len(rows) <= present // 20:  # at most 1 cell in 20 (of 20 or more): a slip of the keys
        lines = table.lines[rows]
        where = table.all_at(lines)
        raise DataError(f"{first}, while {present - len(rows)} of the column's {present} cells are numbers: likely "
                        f"a typo.", path="data.source",
                        hint=f"write a number on {where} of {table.name} (or empty the cell and set data.columns."
                             f"{name}.missing to drop, mean or median).")
    raise DataError(f"{first}; features must be numeric, and {name!r} holds text.", path="data.source",
                    hint=f"encode text columns as one 0/1 feature per category: data: {{columns: {{{name}: "
                         f"{{text: one_hot}}}}}} (or text: one_hot for every text column), or leave the "
                         f"column out: ignore: [{name}].")


def target_rows(data: DataConfig, table: Table) -> np.ndarray:
    """Rows whose target is present; an empty target is an error unless its setting is drop."""
    cells = table.cells[data.target]
    missing = missing_mask(cells)
    if not missing.any():
        return ~missing
    settings = data.columns.get(data.target)
    setting = settings.missing if settings and settings.missing else data.missing
    if setting != "drop":
        lines = table.lines[missing]
        raise DataError(f"{table.at(lines[0])}: the target {data.target!r} is empty: a missing value "
                        f"({len(lines)} in all, on {table.all_at(lines)}).", path="data.target",
                        hint=f"fill in or drop those rows; a target is never filled in, but data.columns."
                             f"{data.target}.missing: drop drops them.")
    return ~missing
