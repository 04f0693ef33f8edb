"""Test doubles shared by the suites that drive the Confluence client."""


class FakeTime:
    """A clock that moves only when the client sleeps: retry schedules run at once and can be asserted."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
