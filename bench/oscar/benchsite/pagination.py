from rest_framework.pagination import PageNumberPagination


class BenchPageNumberPagination(PageNumberPagination):
    """DRF page-number pagination with a client-selectable page size."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
