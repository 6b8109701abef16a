// ECharts with only what dashboard/static/unit-economics.js draws: line, bar and
// sankey series; title, tooltip, legend, grid, markLine and markPoint; the canvas
// renderer. A chart option that needs more fails loudly in ECharts' console
// ("Component ... is used but not imported") and the browser tests catch it.
import * as echarts from "echarts/core";
import { BarChart, LineChart, SankeyChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  MarkPointComponent,
  TitleComponent,
  TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  BarChart,
  LineChart,
  SankeyChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  MarkPointComponent,
  TitleComponent,
  TooltipComponent,
  CanvasRenderer,
]);

export const { init, getInstanceByDom } = echarts;
