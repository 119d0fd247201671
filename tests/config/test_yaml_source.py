import pytest

from nnlearn.config.yaml_source import MAX_BYTES, parse_yaml, read_yaml_file
from nnlearn.errors import ConfigError


def problem_of(text):
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text)
    return caught.value.problems[0]


def test_positions_are_one_based_lines_and_columns():
    located = parse_yaml("a: 1\nb:\n  c: [1, 22]\n")
    assert located.data == {"a": 1, "b": {"c": [1, 22]}}
    assert located.where(("a",)) == (1, 4)
    assert located.where(("b", "c", 1)) == (3, 10)
    assert located.where(("b", "missing")) == (2, 1)


def test_duplicate_key_is_refused_with_its_line():
    problem = problem_of("fit:\n  epochs: 3\n  epochs: 5\n")
    assert "appears twice" in problem.message
    assert problem.line == 3


@pytest.mark.parametrize("text", ["x: !!python/object/apply:os.system ['echo hi']\n",
                                  "!!python/name:os.system\n", "x: !custom 3\n"])
def test_python_and_custom_tags_are_refused(text):
    assert "not allowed" in problem_of(text).message


def test_billion_laughs_is_refused():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 9):
        previous, name = chr(96 + index), chr(97 + index)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    assert "expands to more than" in problem_of("\n".join(lines)).message


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"), ("# only a comment\n", "empty"), ("- 1\n- 2\n", "mapping"),
    ("just text\n", "mapping"), ("a: [1, 2\n", "syntax error"), ("a:\n\tb: 1\n", "syntax error"),
])
def test_malformed_documents(text, fragment):
    assert fragment in problem_of(text).message


def test_syntax_error_has_line_and_column():
    problem = problem_of("a: 1\nb: [1, 2\nc: 3\n")
    assert problem.line is not None and problem.column is not None


def test_non_utf8_and_oversized_files(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml_file(latin)
    huge = tmp_path / "huge.yaml"
    huge.write_text("a: " + "x" * (MAX_BYTES + 1))
    with pytest.raises(ConfigError, match="at most"):
        read_yaml_file(huge)
    with pytest.raises(ConfigError, match="does not exist"):
        read_yaml_file(tmp_path / "absent.yaml")


def test_yaml11_scientific_notation_stays_text_for_the_schema_to_read():
    located = parse_yaml("learning_rate: 1e-3\n")
    assert located.data["learning_rate"] == "1e-3"
    assert located.raw[("learning_rate",)] == "1e-3"
