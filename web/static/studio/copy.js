// The first-run page: copy the admin token shown once.
import { wireCopy } from "./common.js";

wireCopy();
