pytest_plugins = [
    "tests.fixtures.factories",
    "tests.fixtures.worker",
    "tests.fixtures.emulator",
    "tests.fixtures.browser",
    "tests.fixtures.salesforce",
]
