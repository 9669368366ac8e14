/*
 * routes: the table of routes.h, for app_dispatch() and the tests.
 */
#include "app.h"

const struct app_route app_routes[ROUTE__MAX] = {
#define ROUTE_ROW(id, method, pattern, auth, prog) \
	[ROUTE_##id] = { method, pattern, auth, prog },
	APP_ROUTES(ROUTE_ROW)
#undef ROUTE_ROW
};
