from django.apps import AppConfig


class OtherAppConfig(AppConfig):
    name = "tests.otherapp"
    label = "otherapp"
