"""Keyword watch rules as 舆情 analysts write them: ``A AND (B OR C) NOT D``.

Operators are ``AND``, ``OR`` and ``NOT`` (any case); parentheses group; a "quoted phrase"
may contain spaces; two terms side by side mean AND.  ``A NOT B`` means A AND NOT B, and a
leading ``NOT`` negates what follows.  Terms match as substrings (Chinese has no spaces to
match words on), case-insensitively for Latin letters.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentiment.analysis.trie import trie_regex


class RuleSyntaxError(ValueError):
    """The rule text cannot be parsed; the message says where."""


@dataclass(frozen=True, slots=True)
class Term:
    text: str

    def matches(self, haystack: str) -> bool:
        return self.text in haystack


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node

    def matches(self, haystack: str) -> bool:
        return not self.operand.matches(haystack)


@dataclass(frozen=True, slots=True)
class All:
    operands: tuple[Node, ...]

    def matches(self, haystack: str) -> bool:
        return all(op.matches(haystack) for op in self.operands)


@dataclass(frozen=True, slots=True)
class Any_:
    operands: tuple[Node, ...]

    def matches(self, haystack: str) -> bool:
        return any(op.matches(haystack) for op in self.operands)


Node = Term | Not | All | Any_
_OPERATORS = {"AND", "OR", "NOT"}


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()（）":
            tokens.append("(" if ch in "(（" else ")")
            i += 1
        elif ch in '"“”':
            end = next((j for j in range(i + 1, len(text)) if text[j] in '"“”'), -1)
            if end < 0:
                raise RuleSyntaxError(f"第 {i + 1} 个字符处的引号没有闭合")
            phrase = text[i + 1 : end].strip()
            if not phrase:
                raise RuleSyntaxError(f"第 {i + 1} 个字符处是空短语")
            tokens.append("\0" + phrase)  # \0 marks a quoted phrase: never an operator
            i = end + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in '()（）"“”':
                j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expr(self) -> Node:
        operands = [self.conjunction()]
        while (token := self.peek()) is not None and token.upper() == "OR":
            self.take()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Any_(tuple(operands))

    def conjunction(self) -> Node:
        operands = [self.unary()]
        while (token := self.peek()) is not None and token != ")" and token.upper() != "OR":
            if token.upper() == "AND":
                self.take()
                operands.append(self.unary())
            elif token.upper() == "NOT":
                self.take()
                operands.append(Not(self.unary()))
            else:  # implicit AND
                operands.append(self.unary())
        return operands[0] if len(operands) == 1 else All(tuple(operands))

    def unary(self) -> Node:
        token = self.peek()
        if token is None:
            raise RuleSyntaxError("规则在运算符之后意外结束")
        if token.upper() == "NOT":
            self.take()
            return Not(self.unary())
        if token == "(":
            self.take()
            inner = self.expr()
            if self.peek() != ")":
                raise RuleSyntaxError("括号没有闭合")
            self.take()
            return inner
        if token == ")" or token.upper() in _OPERATORS:
            raise RuleSyntaxError(f"此处应为关键词，却是 {token!r}")
        self.take()
        return Term(token.removeprefix("\0").lower())


def parse_rule(text: str) -> Node:
    """Parse a rule; raises :class:`RuleSyntaxError` with a zh-CN message."""
    tokens = _tokens(text)
    if not tokens:
        raise RuleSyntaxError("规则为空")
    parser = _Parser(tokens)
    node = parser.expr()
    if parser.peek() is not None:
        raise RuleSyntaxError(f"多余的 {parser.peek()!r}（括号不配对？）")
    return node


def _terms(node: Node) -> set[str]:
    if isinstance(node, Term):
        return {node.text}
    if isinstance(node, Not):
        return _terms(node.operand)
    return set().union(*(_terms(op) for op in node.operands))


class WatchRules:
    """The configured rules, parsed once; :meth:`match` names the rules a text meets.

    Most texts contain none of the rules' terms, and a text without any of a rule's terms
    gets the same answer as the empty text (every term is simply absent).  So one trie
    search for any term settles most texts, and only the others walk the rule trees.
    """

    def __init__(self, rules: list[tuple[str, str]]) -> None:
        self.rules = [(name, parse_rule(query)) for name, query in rules]
        self.pattern = trie_regex(set().union(*(_terms(node) for _, node in self.rules)))
        self.without_terms = [name for name, node in self.rules if node.matches("")]

    def match(self, text: str) -> list[str]:
        haystack = text.lower()
        if self.pattern is None or not self.pattern.search(haystack):
            return list(self.without_terms)
        return [name for name, node in self.rules if node.matches(haystack)]
