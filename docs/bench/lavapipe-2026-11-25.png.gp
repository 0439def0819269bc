set terminal pngcairo size 1400,600 font ',11' noenhanced
set output 'lavapipe-2026-11-25.png'
set multiplot layout 1,2 title 'PearVisor vs native, 2026-11-25 04:13:29 UTC'
set title 'Efficiency (virtualized / native throughput), 95% CI'
set ylabel 'percent of native'
set yrange [0:120]
set grid ytics
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -30
plot 'lavapipe-2026-11-25.png.efficiency.dat' using 1:3:xtic(2) with boxes notitle, '' using 1:3:4:5 with yerrorbars lc rgb 'black' pt 0 notitle, 100 with lines dt 2 lc rgb 'gray' title 'native'
set title 'latency workload: submit + wait, CDF'
set xlabel 'microseconds'
set ylabel 'fraction of iterations'
set yrange [0:1]
set logscale x
set xtics norotate
plot 'lavapipe-2026-11-25.png.latency-native.dat' using 1:2 with lines lw 2 title 'native', 'lavapipe-2026-11-25.png.latency-virtual.dat' using 1:2 with lines lw 2 title 'PearVisor'
unset multiplot
