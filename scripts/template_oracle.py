#!/usr/bin/env python3
"""Renders every chat template in ../shared/fixtures/templates with Python Jinja2, the way Hugging
Face transformers renders chat templates, on a set of conversations, and writes the results to
tests/template/data/python_renders.json. Kiln's template tests compare against that file.

Needs Python 3 with jinja2 (3.1.x); run from the repository root:
    python3 scripts/template_oracle.py
"""
import datetime
import glob
import json
import os

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = os.path.join(ROOT, "..", "shared", "fixtures", "templates")
OUT = os.path.join(ROOT, "tests", "template", "data", "python_renders.json")
NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)  # what the tests pin strftime_now() to


class GenerationTracker(Extension):
    """transformers' {% generation %}: renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: NOW.strftime(fmt)
    return env


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}}}]


def conversations():
    base = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}

    def conv(messages, add_generation_prompt=True, **extra):
        return dict(base, messages=messages, add_generation_prompt=add_generation_prompt, **extra)

    user, assistant, system = "user", "assistant", "system"
    return {
        "simple": conv([
            {"role": system, "content": "You are helpful."},
            {"role": user, "content": "Hi there"},
            {"role": assistant, "content": "Hello! How can I help?"},
            {"role": user, "content": "Tell me a joke."}]),
        "single-user": conv([{"role": user, "content": "Hello!"}]),
        "no-generation-prompt": conv([
            {"role": user, "content": "Hi"},
            {"role": assistant, "content": "Hello! How can I help?"}], add_generation_prompt=False),
        "special-chars": conv([
            {"role": user, "content": "Write \"quotes\" & <tags>\nand unicode: 你好 🙂  "},
            {"role": assistant, "content": "  Done: \"ok\" <b>bold</b>\n"}], add_generation_prompt=False),
        "reasoning": conv([
            {"role": user, "content": "2+2?"},
            {"role": assistant, "content": "4", "reasoning_content": "Adding two and two."},
            {"role": user, "content": "and 3+3?"}]),
        "think-in-content": conv([
            {"role": user, "content": "2+2?"},
            {"role": assistant, "content": "<think>\nAdding.\n</think>\n\n4"},
            {"role": user, "content": "ok"}], add_generation_prompt=False),
        "tools": conv([
            {"role": user, "content": "What's the weather in Paris?"},
            {"role": assistant, "content": "", "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
            {"role": "tool", "tool_call_id": "call_1", "name": "get_weather",
             "content": "{\"temp\": 21, \"unit\": \"celsius\"}"}], tools=TOOLS),
        "multi-tool": conv([
            {"role": system, "content": "Use tools."},
            {"role": user, "content": "Weather in Paris and Rome?"},
            {"role": assistant, "content": None, "tool_calls": [
                {"id": "call_abc12", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "call_def34", "type": "function",
                 "function": {"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}}]},
            {"role": "tool", "tool_call_id": "call_abc12", "name": "get_weather", "content": "{\"temp\": 21}"},
            {"role": "tool", "tool_call_id": "call_def34", "name": "get_weather", "content": "{\"temp\": 25}"},
            {"role": assistant, "content": "Paris 21, Rome 25."},
            {"role": user, "content": "Thanks"}], tools=TOOLS),
        "content-parts": conv([
            {"role": system, "content": [{"type": "text", "text": "Be brief."}]},
            {"role": user, "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "World"}]},
            {"role": assistant, "content": [{"type": "text", "text": "Hi!"}]},
            {"role": user, "content": [{"type": "text", "text": "Bye"}]}]),
        "no-thinking": conv([{"role": user, "content": "Hi"}], enable_thinking=False),
        "tools-system": conv([
            {"role": system, "content": "You are a bot."},
            {"role": user, "content": "Weather?"}], tools=TOOLS),
    }


def main():
    env = make_env()
    convs = conversations()
    renders = []
    for path in sorted(glob.glob(os.path.join(TEMPLATES, "*.jinja"))):
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            template = env.from_string(f.read())
        for conv_name, context in convs.items():
            entry = {"template": name, "conversation": conv_name}
            try:
                entry["output"] = template.render(**json.loads(json.dumps(context)))
            except Exception as e:  # the template's own raise_exception, or a Python error
                entry["error"] = f"{type(e).__name__}: {e}"
            renders.append(entry)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"jinja2_version": jinja2.__version__, "now": NOW.isoformat(),
                   "conversations": convs, "renders": renders}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(renders)} renders to {OUT}")


if __name__ == "__main__":
    main()
