"""The message a call without a model reply adds to the conversation, built without validation.

Every function agent's call (each branch of a mapped fan-out) adds an `AIMessage` of its
text, name and id. Validating those three strings through LangChain's model costs ten
times copying the fields of one validated message made at import and setting them.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from pydantic import BaseModel

__all__ = ["text_message"]

_TEMPLATE = AIMessage(content="", name="name", id="id")
_FIELDS = dict(_TEMPLATE.__dict__)
_FIELDS_SET = frozenset(_TEMPLATE.__pydantic_fields_set__)
# Containers each message needs its own of (empty in the template: checked below).
_FRESH = tuple((key, type(value)) for key, value in _FIELDS.items() if type(value) in (dict, list))
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
# Another LangChain could fill a field from these three or keep private state: then every
# message takes the validating constructor.
_COPYABLE = (
    all(not _FIELDS[key] for key, _ in _FRESH)
    and {"content", "name", "id"} == _FIELDS_SET
    and _TEMPLATE.__pydantic_extra__ in ({}, None)
    and _TEMPLATE.__pydantic_private__ is None
    and not any(
        isinstance(value, BaseModel | set | tuple)
        for key, value in _FIELDS.items()
        if key not in {"content", "name", "id"}
    )
)


def text_message(content: str, name: str, id: str) -> AIMessage:
    """`AIMessage(content=content, name=name, id=id)`: equal fields, fields set and bytes."""
    if not _COPYABLE:
        return AIMessage(content=content, name=name, id=id)
    values: dict[str, Any] = dict(_FIELDS)
    for key, kind in _FRESH:
        values[key] = kind()
    values["content"] = content
    values["name"] = name
    values["id"] = id
    message: AIMessage = _new(AIMessage)
    _set_dict(message, values)
    _set_fields_set(message, {"content", "name", "id"})
    _set_extra(message, None if _TEMPLATE.__pydantic_extra__ is None else {})
    _set_private(message, None)
    return message
