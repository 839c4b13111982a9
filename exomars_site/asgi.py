import os

from django.core.asgi import get_asgi_application

from exomars_site.startup import refuse_unsafe_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exomars_site.settings")
refuse_unsafe_start()
application = get_asgi_application()
