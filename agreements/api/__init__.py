"""The read-only API at /api/v1/: the record as the reader pages show it, as JSON.

- `access`: personal tokens and sessions, the reader check, the rate per token;
- `filters`: the query parameters of each list, strict, and their schema;
- `serializers`: what each record looks like;
- `pagination`: cursor pages in a fixed order;
- `views`: one viewset per kind of record, each starting from `visible_to(user)`;
- `errors`: JSON errors for every answer that is not a success;
- `docs`: the OpenAPI schema and Swagger UI, under the site's security policy;
- `tokens`: making and revoking personal tokens.
"""
