"""The chapters' MyST Markdown as plain Markdown, for Jupyter and Colab (see tools/edition.py).

`Prose` converts one notebook's Markdown cells: glued values filled in, citations written out,
equation labels as tags, directives as quotes, details and display math; `leftover_myst` counts
what is left of MyST in a notebook.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import yaml

if TYPE_CHECKING:
    from tools.edition import Book

# A role with its content, or a code span, whichever starts first (a role's content is a code span).
ROLE_OR_CODE = re.compile(r"\{(?P<role>[A-Za-z][\w:+.-]*)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks)"
                          r"|(?P<code>(?P<code_ticks>`+).+?(?P=code_ticks))", re.S)
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
LABELLED_MATH = re.compile(r"\$\$(?P<math>(?:(?!\$\$).)+?)\$\$[ \t]*\((?P<label>[^()\s]+)\)[ \t]*$",
                           re.S | re.M)
TARGET = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$", re.M)
COMMENT = re.compile(r"^%.*$", re.M)
BLOCK_BREAK = re.compile(r"^\+\+\+.*$", re.M)
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<text>.+?)[ \t]*#*[ \t]*$", re.M)
LINK = re.compile(r"(?P<text>!?\[[^\]\n]*\])\((?P<target>[^()\s]+)(?P<title>[ \t]+\"[^\"]*\")?\)")
OPTION = re.compile(r"^:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$")

ADMONITIONS = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
               "warning": "Warning", "caution": "Caution", "attention": "Attention",
               "danger": "Danger", "error": "Error", "seealso": "See also"}
QUOTES = {"margin", "sidebar", "topic", "epigraph", "pull-quote", "highlights", "card"}
CONTAINERS = {"tab-set", "grid", "grid-item", "div", "container"}
MARKUP = {"sub": "<sub>{}</sub>", "sup": "<sup>{}</sup>", "kbd": "<kbd>{}</kbd>",
          "math": "${}$", "code": "`{}`", "literal": "`{}`", "del": "~~{}~~",
          "strike": "~~{}~~", "index": "{}", "term": "{}"}


class EditionError(ValueError):
    """A chapter holds something the edition cannot turn into plain Jupyter Markdown."""



class Bibliography:
    """The book's references.bib, cited as the book cites it (author-year) and listed in full."""

    def __init__(self, path: Path):
        from pybtex.database import parse_file
        self.path = path
        self.entries = parse_file(str(path)).entries

    def entry(self, key: str):
        if key not in self.entries:
            raise EditionError(f"unknown citation key {key!r}: add it to {self.path.name}")
        return self.entries[key]

    def authors(self, key: str, full: bool = False) -> str:
        """'Krogh and Hertz', 'Zhang et al.' (or every name with `full`)."""
        from pybtex.richtext import Text
        entry = self.entry(key)
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [Text.from_latex(" ".join(person.prelast_names + person.last_names))
                 .render_as("text") for person in persons]
        if not names:
            return Text.from_latex(entry.fields.get("title", key)).render_as("text")
        if len(names) == 1:
            return names[0]
        if len(names) == 2:
            return f"{names[0]} and {names[1]}"
        return ", ".join(names[:-1]) + f", and {names[-1]}" if full else f"{names[0]} et al."

    def year(self, key: str) -> str:
        return self.entry(key).fields.get("year", "n.d.")

    def references(self, keys: list[str]) -> list[str]:
        """The works in `keys` as Markdown, in the order of pybtex's plain style (by author)."""
        from pybtex.plugin import find_plugin
        style = find_plugin("pybtex.style.formatting", "plain")()
        formatted = style.format_entries([self.entry(key) for key in keys])
        return [" ".join(entry.text.render_as("markdown").split("\n")) for entry in formatted]



# --- prose ---------------------------------------------------------------------------------------

def glued(notebook) -> dict[str, dict]:
    """Every value the notebook's outputs glue, by name: its mime bundle, prefix removed."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                prefix = len(scrapbook.get("mime_prefix", ""))
                values[scrapbook["name"]] = {mime[prefix:]: data
                                             for mime, data in output.get("data", {}).items()}
    return values


def escape(text: str) -> str:
    """Text that Markdown shows as it is (a glued value, say, with an underscore in it).

    >>> escape("decoupled_weight_decay costs $2")
    'decoupled\\\\_weight\\\\_decay costs \\\\$2'
    """
    return re.sub(r"([\\`*_\[\]<>$|])", r"\\\1", text)


class Prose:
    """Turns one chapter's MyST Markdown into plain Markdown; collects what it cites."""

    def __init__(self, book: Book, stem: str, values: dict[str, dict],
                 equations: dict[str, str]):
        self.book, self.stem, self.values, self.equations = book, stem, values, equations
        self.cited: list[str] = []
        self.attachments: dict[str, dict] = {}
        self.where = stem

    # blocks: fenced code stays as it is, directives become Markdown, the rest is inline prose
    def convert(self, text: str) -> str:
        lines, out, prose = text.split("\n"), [], []

        def flush():
            if prose:
                out.append(self.inline("\n".join(prose)))
                prose.clear()

        index = 0
        while index < len(lines):
            opening = FENCE.match(lines[index])
            info = opening.group("info").strip() if opening else ""
            if not opening or (opening.group("fence")[0] == ":" and not info.startswith("{")):
                prose.append(lines[index])
                index += 1
                continue
            fence = opening.group("fence")
            end = next((j for j in range(index + 1, len(lines))
                        if lines[j].strip().startswith(fence[0] * len(fence))
                        and set(lines[j].strip()) == {fence[0]}), len(lines))
            flush()
            if info.startswith("{") and "}" in info:
                name, argument = info[1:].split("}", 1)
                out.append(self.directive(name, argument.strip(), lines[index + 1:end]))
            else:
                out.append("\n".join(lines[index:end + 1]))
            index = end + 1
        flush()
        return "\n".join(out)

    def inline(self, text: str) -> str:
        text = LABELLED_MATH.sub(self._labelled_math, text)
        text = TARGET.sub("", text)
        text = COMMENT.sub("", text)
        text = BLOCK_BREAK.sub("", text)
        pieces, position = [], 0
        for match in ROLE_OR_CODE.finditer(text):
            pieces.append(self._links(text[position:match.start()]))
            if match.group("code"):
                pieces.append(match.group("code"))
            else:
                pieces.append(self.role(match.group("role"), match.group("content")))
            position = match.end()
        pieces.append(self._links(text[position:]))
        return "".join(pieces)

    def _labelled_math(self, match) -> str:
        math = match.group("math").rstrip()
        return f"$${math} \\tag{{{self.equation(match.group('label'))}}}" + (
            "\n$$" if "\n" in math else "$$")

    def equation(self, label: str) -> str:
        if label not in self.equations:
            raise EditionError(f"{self.where}: no equation is labelled {label!r} in this chapter")
        return self.equations[label]

    # roles
    def role(self, name: str, content: str) -> str:
        if name in ("glue", "glue:any", "glue:text", "glue:md"):
            return self.glue(name, content)
        if name == "cite" or name.startswith("cite:"):
            return self.cite(name, content)
        if name == "eq":
            return f"({self.equation(content.strip())})"
        if name in ("ref", "numref", "doc", "download"):
            return self.reference(name, content)
        if name == "abbr":
            return escape(content)
        if name in MARKUP:
            return MARKUP[name].format(content if name == "math" else self.inline(content))
        raise EditionError(f"{self.where}: the role {{{name}}} has no plain-Markdown form yet; "
                           "teach tools/edition.py (Prose.role) to write it")

    def glue(self, name: str, content: str) -> str:
        key, spec = (content.rsplit(":", 1) + [""])[:2] if name == "glue:text" else (content, "")
        values = self.values
        if "::" in key:  # a value glued by another chapter
            document, key = key.split("::", 1)
            other = (self.book.chapters / document).with_suffix(".ipynb")
            values = glued(nbformat.read(other, as_version=4))
        if key not in values:
            raise EditionError(f"{self.where}: {{{name}}}`{content}` has no value: the chapter's "
                               f"outputs glue no {key!r} (execute the chapter first)")
        data = values[key]
        if name == "glue:text":
            from myst_nb.core.variables import format_plain_text  # exactly as the book formats it
            return escape(format_plain_text(data["text/plain"], spec or "s"))
        if "text/markdown" in data:
            return data["text/markdown"]
        if name != "glue:md" and "text/plain" in data:
            return escape(data["text/plain"])
        raise EditionError(f"{self.where}: {{{name}}}`{content}` glues no text to paste")

    def cite(self, name: str, content: str) -> str:
        if "{" in content:
            raise EditionError(f"{self.where}: citations with pre- or post-text are not supported: "
                               f"{{{name}}}`{content}`")
        keys = [key.strip() for key in content.split(",") if key.strip()]
        bibliography = self.book.bibliography
        for key in keys:
            bibliography.entry(key)
            if key not in self.cited:
                self.cited.append(key)
        kind, full = name.partition(":")[2] or "p", name.endswith("s")
        kind = kind.rstrip("s") if kind in ("ps", "ts") else kind
        if kind == "t":
            return ", ".join(f"{bibliography.authors(k, full)} ({bibliography.year(k)})"
                             for k in keys)
        if kind == "p":
            return "(" + "; ".join(f"{bibliography.authors(k, full)}, {bibliography.year(k)}"
                                   for k in keys) + ")"
        if kind == "author":
            return ", ".join(bibliography.authors(k) for k in keys)
        if kind == "year":
            return ", ".join(bibliography.year(k) for k in keys)
        raise EditionError(f"{self.where}: the citation role {{{name}}} is not supported")

    def reference(self, name: str, content: str) -> str:
        explicit = re.fullmatch(r"(?P<text>.+?)\s*<(?P<target>[^<>]+)>", content, re.S)
        text, target = (explicit.group("text"), explicit.group("target").strip()) if explicit \
            else (None, content.strip())
        if name in ("doc", "download"):
            href = self.href(target if name == "download" or Path(target).suffix
                             else target + ".ipynb")
            stem = Path(target).stem
            shown = text or self.book.titles.get(stem, target)
            return f"[{shown}]({href})"
        if target not in self.book.labels:
            raise EditionError(f"{self.where}: {{{name}}}`{content}` points to no label of the "
                               "chapters (a `(label)=` line before a heading)")
        stem, heading = self.book.labels[target]
        shown = text or heading
        return shown if stem == self.stem else f"[{shown}]({stem}.ipynb)"

    # links: the edition lives in another folder, so relative links are rewritten to still arrive
    def _links(self, text: str) -> str:
        def rewrite(match):
            target = match.group("target")
            if target in self.book.labels:
                return self.reference("ref", f"{match.group('text').strip('![]')} <{target}>")
            return f"{match.group('text')}({self.href(target)}{match.group('title') or ''})"
        return LINK.sub(rewrite, text)

    def href(self, target: str) -> str:
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target, re.I):
            return target
        path, hashmark, fragment = target.partition("#")
        source = (self.book.chapters / path).resolve()
        if source.parent == self.book.chapters.resolve() and source.suffix == ".ipynb":
            moved = self.book.edition / source.name  # a chapter: its edition, next door
        else:
            moved = source
        relative = Path(_relative(moved, self.book.edition.resolve()))
        return relative.as_posix() + hashmark + fragment

    # directives
    def directive(self, name: str, argument: str, lines: list[str]) -> str:
        options, body = _options(lines)
        content = self.convert("\n".join(body)).strip("\n")
        title = self.inline(argument) if argument else ""
        if name in ADMONITIONS or name == "admonition":
            if name == "admonition":
                heading = title or "Note"
            else:
                heading, content = ADMONITIONS[name], "\n\n".join(filter(None, [title, content]))
            if "dropdown" in options.get("class", "").split():
                return _details(heading, content, "open" in options)
            return _quote(f"**{heading}**\n\n{content}")
        if name == "dropdown":
            return _details(title or "Details", content, "open" in options)
        if name in QUOTES:
            return _quote("\n\n".join(filter(None, [title and f"**{title}**", content])))
        if name in CONTAINERS:
            return content
        if name == "tab-item":
            return f"**{title}**\n\n{content}"
        if name == "rubric":
            return f"**{title}**"
        if name == "math":
            math = "\n".join(body).strip("\n")
            tag = f"\n\\tag{{{self.equation(options['label'])}}}" if "label" in options else ""
            return f"$$\n{math}{tag}\n$$"
        if name in ("code-block", "code", "sourcecode"):
            return f"```{argument}\n" + "\n".join(body) + "\n```"
        if name in ("figure", "image"):
            alt = options.get("alt", "")
            picture = f"![{alt or _first_line(content)}]({self.href(argument)})"
            return picture + (f"\n\n*{content}*" if name == "figure" and content else "")
        if name == "raw" and argument == "html":
            return "\n".join(body)
        if name in ("glue", "glue:any", "glue:figure", "glue:math", "glue:md"):
            return self.glued_block(name, argument, options, content)
        raise EditionError(f"{self.where}: the directive {{{name}}} has no plain-Markdown form "
                           "yet; teach tools/edition.py (Prose.directive) to write it")

    def glued_block(self, name: str, key: str, options: dict, caption: str) -> str:
        if key not in self.values:
            raise EditionError(f"{self.where}: {{{name}}} {key} has no value: the chapter's "
                               f"outputs glue no {key!r} (execute the chapter first)")
        data = self.values[key]
        if name == "glue:math" or (name in ("glue", "glue:any") and "text/latex" in data
                                   and "text/markdown" not in data):
            math = data["text/latex"].strip().strip("$")
            tag = f"\n\\tag{{{self.equation(options['label'])}}}" if "label" in options else ""
            return f"$$\n{math}{tag}\n$$"
        if "text/markdown" in data and name != "glue:figure":
            return data["text/markdown"]
        for mime, extension in (("image/png", "png"), ("image/jpeg", "jpg")):
            if mime in data:
                attachment = f"{key}.{extension}"
                self.attachments[attachment] = {mime: data[mime]}
                alt = options.get("alt", "") or _first_line(caption) or key
                shown = f"![{alt}](attachment:{attachment})"
                return shown + (f"\n\n*{caption}*" if caption else "")
        if name in ("glue", "glue:any") and "text/plain" in data:
            return "```\n" + data["text/plain"] + "\n```"
        raise EditionError(f"{self.where}: {{{name}}} {key} glues nothing this block can show")


def _options(lines: list[str]) -> tuple[dict, list[str]]:
    """A directive's options (`:name: value` lines or a `---` YAML block) and its body."""
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            options = yaml.safe_load("\n".join(lines[1:end])) or {}
            return {str(k): str(v) for k, v in options.items()}, lines[end + 1:]
    options, index = {}, 0
    while index < len(lines) and OPTION.match(lines[index]):
        match = OPTION.match(lines[index])
        options[match.group("name")] = match.group("value").strip()
        index += 1
    return options, lines[index:]


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.strip("\n").split("\n"))


def _details(summary: str, content: str, is_open: bool) -> str:
    return (f"<details{' open' if is_open else ''}>\n<summary>{summary}</summary>\n\n"
            f"{content}\n\n</details>")


def _first_line(text: str) -> str:
    return text.strip().split("\n")[0] if text.strip() else ""


def _relative(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


def equation_numbers(notebook, chapter: int | None) -> dict[str, str]:
    """Each labelled equation's number as the book prints it: '3.2' for the second of chapter 3."""
    labels = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = [(m.start(), m.group("label")) for m in LABELLED_MATH.finditer(cell.source)]
            found += [(m.start(), m.group(1)) for m in re.finditer(
                r"^[`:~]{3,}\{math\}[^\n]*\n(?:[^\n]*\n)*?:label:[ \t]*(\S+)", cell.source, re.M)]
            labels += [label for _, label in sorted(found)]
    prefix = f"{chapter}." if chapter else ""
    return {label: f"{prefix}{number}" for number, label in enumerate(labels, start=1)}



def leftover_myst(notebook) -> list[str]:
    """The MyST markup left in a notebook's Markdown cells: roles, directives, targets, labels,
    comments and block breaks (code spans and fenced code aside).

    >>> cell = nbformat.v4.new_markdown_cell("A {cite:t}`x` and `{cite:t}` in code.\\n(eq-a)=")
    >>> leftover_myst(nbformat.v4.new_notebook(cells=[cell]))
    ['{cite:t}`x`', '(eq-a)=']
    """
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        text = _outside_code_blocks(cell.source, found)
        for match in ROLE_OR_CODE.finditer(text):
            if match.group("role"):
                found.append(match.group(0))
        prose = ROLE_OR_CODE.sub("", text)
        for pattern in (LABELLED_MATH, TARGET, COMMENT, BLOCK_BREAK):
            found += [match.group(0).strip()[-60:] for match in pattern.finditer(prose)]
    return found


def _outside_code_blocks(text: str, directives: list[str]) -> str:
    """`text` without its fenced code blocks; directive fences are added to `directives`."""
    kept, fence = [], None
    for line in text.split("\n"):
        opening = FENCE.match(line)
        if fence is None and opening:
            info = opening.group("info").strip()
            if info.startswith("{"):
                directives.append(line.strip())
            elif opening.group("fence")[0] != ":":
                fence = opening.group("fence")
            continue
        if fence is not None:
            if set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
                fence = None
            continue
        kept.append(line)
    return "\n".join(kept)
