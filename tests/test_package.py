import orchestra


def test_package_exposes_a_version() -> None:
    assert orchestra.__version__.count(".") == 2
