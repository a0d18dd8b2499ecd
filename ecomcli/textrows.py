"""Rows of a delimited text file: the csv module's reader, or for `delimiter =
"whitespace"` (a whitespace-aligned report: columns separated by runs of spaces or tabs,
leading and trailing spaces ignored, CRLF or LF) one that splits each line on whitespace.
Both give lists of strings and count lines in `line_num`."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

WHITESPACE = "whitespace"


class WhitespaceReader:
    def __init__(self, text: TextIO) -> None:
        self.lines = iter(text)
        self.line_num = 0

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        line = next(self.lines)
        self.line_num += 1
        return line.split()  # a blank line is [], as csv.reader gives


def reader(text: TextIO, delimiter: str) -> Any:
    if delimiter == WHITESPACE:
        return WhitespaceReader(text)
    return csv.reader(text, delimiter=delimiter)
